//! Fetches about the server that answered, in `http-response` rules:
//! `srv_name` and `srv_id` (HAProxy's ids: `id N` when set, else the
//! first free number in the backend's order).

use switchyard_e2e::client::{client, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;

#[tokio::test]
async fn srv_name_and_srv_id_name_the_server_that_answered() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    http-response set-header srv-id \"%[srv_id]\"\n    http-response set-header srv-name \"%[srv_name]\"\n    default_backend be\n\
         backend be\n    balance roundrobin\n    server srv1 {}\n    server srv2 {} id 7\n",
        a.addr, b.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let c = client();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = get(&c, &format!("http://127.0.0.1:{port}/"), &[])
            .await
            .unwrap();
        let served = r.header("x-served-by").unwrap().to_owned();
        let name = r.header("srv-name").unwrap().to_owned();
        let id = r.header("srv-id").unwrap().to_owned();
        seen.push((served, name, id));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("a".into(), "srv1".into(), "1".into()),
            ("b".into(), "srv2".into(), "7".into())
        ]
    );
}
