//! A site a client points Tessera at (its metadata document, its
//! `jwks_uri`): pages set by the test, served over https (a self-signed
//! certificate for 127.0.0.1, trusted through `outbound_ca_file`) or plain
//! http, with a count of the requests each path got.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// One answer.
#[derive(Clone, Debug)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Page {
    /// 200 with a JSON body.
    pub fn json(body: &serde_json::Value) -> Page {
        Page {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap(),
        }
    }

    /// With one more header.
    pub fn with(mut self, name: &str, value: &str) -> Page {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Default)]
struct Pages {
    pages: HashMap<String, Page>,
    hits: HashMap<String, usize>,
}

pub struct FakeSite {
    pub addr: SocketAddr,
    https: bool,
    state: Arc<Mutex<Pages>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSite {
    /// Starts on a free port of 127.0.0.1: https with the certificate and
    /// key in `tls` (PEM files), else plain http.
    pub async fn start(tls: Option<(&std::path::Path, &std::path::Path)>) -> FakeSite {
        let acceptor = tls.map(|(cert, key)| {
            tessera_server::listener::tls_acceptor(&cert.display().to_string(), &key.display().to_string())
                .unwrap()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(Pages::default()));
        let shared = Arc::clone(&state);
        let https = acceptor.is_some();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (state, acceptor) = (Arc::clone(&shared), acceptor.clone());
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let state = Arc::clone(&state);
                            async move {
                                let path = request.uri().path().to_owned();
                                let page = {
                                    let mut s = state.lock().unwrap();
                                    *s.hits.entry(path.clone()).or_default() += 1;
                                    s.pages.get(&path).cloned()
                                };
                                let page = page.unwrap_or(Page {
                                    status: 404,
                                    headers: vec![],
                                    body: b"not found".to_vec(),
                                });
                                let mut response = hyper::Response::builder().status(page.status);
                                for (name, value) in &page.headers {
                                    response = response.header(name, value);
                                }
                                Ok::<_, std::convert::Infallible>(
                                    response.body(Full::new(Bytes::from(page.body))).unwrap(),
                                )
                            }
                        });
                    let http = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(tls), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        FakeSite {
            addr,
            https,
            state,
            task,
        }
    }

    /// The URL of `path` (which starts with '/').
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Serves `page` at `path` from now on.
    pub fn put(&self, path: &str, page: Page) {
        self.state.lock().unwrap().pages.insert(path.into(), page);
    }

    /// How many requests `path` got.
    pub fn hits(&self, path: &str) -> usize {
        self.state.lock().unwrap().hits.get(path).copied().unwrap_or(0)
    }
}
