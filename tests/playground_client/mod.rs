//! Driving the playground example as a browser would, over plain HTTP on a `TcpStream`: start
//! it on a free port, send requests, read its Server-Sent Events. Every read has a timeout, so a
//! server that stops answering fails the test instead of hanging it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../example_runs/mod.rs"]
mod example_runs;
#[allow(unused_imports)] // for tests/playground.rs, not the browser test
pub use example_runs::{assert_refused, run_bounded};

/// How long any read from the server may take.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// The playground example, running on a free port of the loopback interface; killed on drop.
pub struct Playground {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The lines it prints after the address (behind a lock, so that threads can share the
    /// server).
    stdout: Mutex<Receiver<String>>,
}

impl Playground {
    pub fn start(extra_args: &[&str]) -> Playground {
        let mut child = Command::new(example_runs::binary("playground"))
            .args(["--port", "0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the playground starts");
        let mut lines = BufReader::new(child.stdout.take().expect("its stdout")).lines();
        let first = lines
            .next()
            .expect("a first line")
            .expect("readable output");
        let address = first
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("the first line is the address, got {first:?}"))
            .to_string();
        let (sender, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Playground {
            child,
            address,
            stdout: Mutex::new(stdout),
        }
    }

    /// The next line it prints, if one comes within `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.stdout.lock().unwrap().recv_timeout(timeout).ok()
    }

    /// A new connection whose reads and writes wait [`READ_TIMEOUT`] at most.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).expect("the playground accepts");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream
    }

    /// The server's process id, for its memory and threads in `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server is still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("the server's status")
            .is_none()
    }

    /// A field of `/proc/PID/status` in its unit (`VmRSS` in kB, `Threads`), where there is one.
    pub fn proc_status(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status
            .lines()
            .find(|line| line.starts_with(&format!("{field}:")))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// One request with a JSON body on its own connection: the status and the body.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        self.request_with(method, path, &[("Content-Type", "application/json")], body)
    }

    /// One request on its own connection, with these headers besides `Host` (unless they name
    /// one) and `Content-Length`: the status and the body.
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = self.connect();
        let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(name, _)| *name == "Host") {
            head += &format!("Host: {}\r\n", self.address);
        }
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        head += &format!("Content-Length: {}\r\n\r\n", body.len());
        // A body refused from its declared length may be cut off: the answer still comes.
        let _ = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body));
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .expect("a whole response in time");
        let text = String::from_utf8_lossy(&response).to_string();
        let (head, body) = text.split_once("\r\n\r\n").expect("headers, then a body");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {head}"));
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            unchunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, b"")
    }

    /// A command for run `run`: the status and the JSON answer.
    pub fn command(&self, run: u64, command: &Value) -> (u16, Value) {
        let path = format!("/api/runs/{run}/command");
        let (status, body) = self.request("POST", &path, command.to_string().as_bytes());
        (status, serde_json::from_str(&body).expect("a JSON answer"))
    }

    pub fn live_runs(&self) -> u64 {
        let (status, body) = self.get("/api/status");
        assert_eq!(status, 200, "{body}");
        let status: Value = serde_json::from_str(&body).unwrap();
        status["live_runs"].as_u64().expect("a count")
    }

    /// A new run's stream of events, as a tab opens it.
    pub fn open_run(&self) -> Events {
        let mut stream = self.connect();
        let head = format!(
            "GET /api/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            self.address
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            assert!(!line.is_empty(), "the headers end");
        }
        Events {
            reader,
            address: self.address.clone(),
            run: None,
            last_alive: Instant::now(),
        }
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run's Server-Sent Events, read as the page reads them: with a sign of life for the run
/// every second, without which the server ends the run.
pub struct Events {
    reader: BufReader<TcpStream>,
    address: String,
    run: Option<u64>,
    last_alive: Instant,
}

impl Events {
    /// The next event's name and data.
    pub fn next(&mut self) -> (String, Value) {
        let (name, data) = self.read_event();
        if name == "hello" {
            self.run = data["run"].as_u64();
        }
        if let Some(run) = self
            .run
            .filter(|_| self.last_alive.elapsed() > Duration::from_secs(1))
        {
            self.last_alive = Instant::now();
            self.say_alive(run);
        }
        (name, data)
    }

    /// `{"action": "alive"}` for the run, as the page sends it; its answer is not needed.
    fn say_alive(&self, run: u64) {
        let body = br#"{"action":"alive"}"#;
        let head = format!(
            "POST /api/runs/{run}/command HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            body.len()
        );
        if let Ok(mut stream) = TcpStream::connect(&self.address) {
            let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    }

    fn read_event(&mut self) -> (String, Value) {
        let (mut name, mut data) = (String::new(), String::new());
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line).expect("an event in time");
            assert!(read > 0, "the stream ended");
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if !name.is_empty() {
                    return (name, serde_json::from_str(&data).expect("JSON data"));
                }
                continue;
            }
            if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_string();
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = value.to_string();
            }
        }
    }

    /// The data of the next event called `wanted`, skipping others (at most 200: a paused run
    /// sends frames forever, so an event that never comes must fail the test, not hang it).
    pub fn next_named(&mut self, wanted: &str) -> Value {
        for _ in 0..200 {
            let (name, data) = self.next();
            if name == wanted {
                return data;
            }
        }
        panic!("no {wanted:?} event among 200");
    }

    /// The first frame for which `done` holds, within `limit` frames.
    pub fn frame_where(&mut self, limit: usize, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..limit {
            let frame = self.next_named("frame");
            if done(&frame) {
                return frame;
            }
        }
        panic!("no such frame among {limit}");
    }
}

/// `POST /api/runs/RUN/command` with a JSON `body` on a new connection to `address`: the status,
/// or `None` if none came within [`READ_TIMEOUT`].
pub fn post_json(address: &str, run: u64, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(READ_TIMEOUT)).ok()?;
    let head = format!(
        "POST /api/runs/{run}/command HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split(' ').nth(1)?.parse().ok()
}

/// A chunked body's data.
fn unchunk(mut body: &str) -> String {
    let mut data = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("a chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hexadecimal size");
        if size == 0 {
            return data;
        }
        data.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}
