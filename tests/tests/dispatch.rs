//! `dispatch ADDR:PORT`: a `listen` without servers or `balance` sends
//! every connection to that address, in HTTP and in TCP mode.

use switchyard_e2e::client::{client, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;

#[tokio::test]
async fn dispatch_sends_http_and_tcp_traffic_to_its_address() {
    let origin = Origin::start("dispatched").await;
    let (http, tcp) = (free_port(), free_port());
    let config = format!(
        "defaults\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         listen fe_http\n    mode http\n    bind 127.0.0.1:{http}\n    dispatch {o}\n\
         listen fe_tcp\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    dispatch {o}\n",
        o = origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{http}").parse().unwrap());
    let c = client();
    for port in [http, tcp] {
        let r = get(&c, &format!("http://127.0.0.1:{port}/"), &[])
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-served-by"), Some("dispatched"));
    }
    assert_eq!(origin.request_count(), 2);
}
