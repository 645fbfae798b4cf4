//! `option http-restrict-req-hdr-names preserve|delete|reject`, in the
//! backend and inherited from `defaults` by a frontend: what the server
//! receives of a header named `X-my_hdr`, or the 403.

use switchyard_e2e::client::{client, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;

#[tokio::test]
async fn header_names_outside_the_charset_are_kept_deleted_or_refused() {
    let origin = Origin::start("o").await;
    let (port, port2) = (free_port(), free_port());
    let o = origin.addr;
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    use_backend keep if {{ path /keep }}\n    use_backend delete if {{ path /delete }}\n    default_backend reject\n\
         backend keep\n    server o {o}\n\
         backend delete\n    option http-restrict-req-hdr-names delete\n    server o {o}\n\
         backend reject\n    option http-restrict-req-hdr-names reject\n    server o {o}\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    option http-restrict-req-hdr-names reject\n\
         frontend fe2\n    bind 127.0.0.1:{port2}\n    default_backend keep2\n\
         backend keep2\n    option http-restrict-req-hdr-names preserve\n    server o {o}\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let c = client();
    let hdr = [("X-my_hdr", "on"), ("X-Fine", "1")];
    let url = |p: u16, path: &str| format!("http://127.0.0.1:{p}{path}");
    let last_seen = |name: &str| {
        let seen = origin.seen();
        seen.last().unwrap().header_values(name).join(",")
    };
    assert_eq!(
        get(&c, &url(port, "/keep"), &hdr).await.unwrap().status,
        200
    );
    assert_eq!(last_seen("x-my_hdr"), "on");
    assert_eq!(
        get(&c, &url(port, "/delete"), &hdr).await.unwrap().status,
        200
    );
    assert_eq!(last_seen("x-my_hdr"), "");
    assert_eq!(last_seen("x-fine"), "1");
    let before = origin.request_count();
    assert_eq!(
        get(&c, &url(port, "/reject"), &hdr).await.unwrap().status,
        403
    );
    assert_eq!(
        origin.request_count(),
        before,
        "a refused request reached the server"
    );
    // The frontend's policy (from defaults) applies whatever the backend's.
    assert_eq!(get(&c, &url(port2, "/"), &hdr).await.unwrap().status, 403);
    assert_eq!(
        get(&c, &url(port2, "/"), &[("X-Fine", "1")])
            .await
            .unwrap()
            .status,
        200
    );
}
