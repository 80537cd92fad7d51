//! The routes: the page's assets compiled into the binary (no route reads a file), a bounded
//! registry of runs, each run's thread and its Server-Sent Events, and the self-test's report.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use crate::data::Data;
use crate::http::{Refusal, Request, respond};
use crate::run::{Command, Run};
use crate::settings::{LIMITS, Settings};
use crate::stream::{HEARTBEAT, Outbox, write_events};

/// The page and its assets, with their content types.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
];

/// Frames per second while a run trains or measures, whatever its speed.
const FRAME: Duration = Duration::from_millis(50);
/// How long a request waits for its run to take a command; a command not taken by then is
/// answered 503 and dropped, never carried out later.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// A run whose page has sent nothing (its `alive` every second, or a command) for this long is
/// ended and its place given up: its client has stopped reading, or gone.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest command and the largest self-test report read from the page.
const MAX_COMMAND_BYTES: usize = 64 << 10;
pub const MAX_REPORT_BYTES: usize = 64 << 10;
/// How long the self-test page's load waits for its report.
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// At most this many requests wait for a self-test report at once.
const MAX_SELF_TEST_WAITERS: usize = 4;

/// A command for a run, where its answer goes, and when the request stops waiting for it.
struct Order {
    command: Command,
    reply: Sender<Result<(), String>>,
    deadline: Instant,
}

/// Everything the request handlers share.
pub struct Playground {
    max_runs: usize,
    /// The `Host` headers accepted when the server listens on the loopback interface, so that a
    /// web page whose name was pointed at 127.0.0.1 (DNS rebinding) cannot drive it; `None`
    /// when `--host` serves other machines.
    local_hosts: Option<[String; 3]>,
    runs: Mutex<HashMap<u64, Sender<Order>>>,
    next_run: AtomicU64,
    /// Where the self-test's report is written, if anywhere (`--self-test-report`).
    report_file: Option<PathBuf>,
    /// Whether a self-test report has come, and a signal for the requests that hold its load.
    self_test: (Mutex<bool>, Condvar),
    self_test_waiters: AtomicUsize,
}

impl Playground {
    pub fn new(max_runs: usize, address: SocketAddr, report_file: Option<PathBuf>) -> Playground {
        let port = address.port();
        let local_hosts = address.ip().is_loopback().then(|| {
            [
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ]
        });
        Playground {
            max_runs,
            local_hosts,
            runs: Mutex::new(HashMap::new()),
            next_run: AtomicU64::new(1),
            report_file,
            self_test: (Mutex::new(false), Condvar::new()),
            self_test_waiters: AtomicUsize::new(0),
        }
    }

    /// Whether the request names this server as its host (always, off the loopback interface).
    fn host_allowed(&self, request: &Request) -> bool {
        let Some(allowed) = &self.local_hosts else {
            return true;
        };
        request
            .header("host")
            .is_some_and(|host| allowed.iter().any(|name| host == name))
    }

    /// Answers the one request on `stream`; called on the connection's own thread.
    pub fn serve(self: &Arc<Self>, stream: TcpStream) {
        let Ok(answer) = stream.try_clone() else {
            return;
        };
        let mut request = match Request::read(stream) {
            Ok(request) => request,
            Err(Refusal::Answer(status, message)) => {
                return respond_error(answer, status, &message);
            }
            Err(Refusal::Silent) => return,
        };
        drop(answer);
        if !self.host_allowed(&request) {
            let message = "this server answers to its own address only";
            return respond_error(request.into_stream(), 403, message);
        }
        let path = request.path.clone();
        let outcome = match (request.method.as_str(), path.as_str()) {
            ("POST", "/api/self-test") => self.take_report(&mut request),
            ("POST", path) if path.starts_with("/api/runs/") => {
                self.command(&mut request, &path["/api/runs/".len()..])
            }
            ("GET", _) => request.body(0).map(|_| None),
            _ => Err(Refusal::Answer(405, "method not allowed".into())),
        };
        let stream = request.into_stream();
        let answer = match outcome {
            Err(Refusal::Silent) => return,
            Err(Refusal::Answer(status, message)) => {
                return respond_error(stream, status, &message);
            }
            Ok(Some(answer)) => return respond_json(stream, 200, &answer),
            Ok(None) => stream, // a GET
        };
        match path.as_str() {
            "/api/events" => self.open_run(answer),
            "/api/status" => {
                let live = self.runs.lock().expect("runs").len();
                let status = json!({ "live_runs": live, "max_runs": self.max_runs });
                respond_json(answer, 200, &status);
            }
            "/api/self-test/wait" => self.hold_for_report(answer),
            path => match ASSETS.iter().find(|(route, ..)| *route == path) {
                Some(&(_, content_type, body)) => {
                    respond(answer, 200, content_type, body.as_bytes());
                }
                None => respond_error(answer, 404, "no such page"),
            },
        }
    }

    /// `GET /api/events`: a new run for this tab and its stream of events, or a `full` event.
    /// This thread writes the stream; the run trains on a thread of its own.
    fn open_run(self: &Arc<Self>, stream: TcpStream) {
        let (orders, inbox) = mpsc::channel();
        let id = self.next_run.fetch_add(1, Ordering::Relaxed);
        let admitted = {
            let mut runs = self.runs.lock().expect("runs");
            let room = runs.len() < self.max_runs;
            if room {
                runs.insert(id, orders);
            }
            room
        };
        let outbox = Arc::new(Outbox::new());
        if !admitted {
            let message = format!(
                "The server is full: it trains at most {} runs at once (--max-runs). Close another \
                 tab of the playground and reload this one.",
                self.max_runs
            );
            outbox.close();
            return write_events(stream, &[("full", json!({ "message": message }))], &outbox);
        }
        let hello = json!({
            "run": id,
            "settings": Settings::tutorial(),
            "limits": LIMITS,
            "silence_timeout_ms": SILENCE_TIMEOUT.as_millis() as u64,
        });
        let (playground, run_outbox) = (Arc::clone(self), Arc::clone(&outbox));
        let spawned = std::thread::Builder::new().spawn(move || {
            // Frees the slot however the run ends, a panic included.
            let _slot = Slot {
                playground: &playground,
                id,
                outbox: &run_outbox,
            };
            run_thread(&inbox, &run_outbox);
        });
        if spawned.is_err() {
            self.runs.lock().expect("runs").remove(&id);
            return respond_error(stream, 503, "the server cannot start another run now");
        }
        write_events(stream, &[("hello", hello)], &outbox);
    }

    /// `POST /api/runs/ID/command` (JSON) or `/api/runs/ID/csv` (the file's bytes).
    fn command(
        &self,
        request: &mut Request,
        rest: &str,
    ) -> Result<Option<serde_json::Value>, Refusal> {
        let refuse = |status, message: &str| Err(Refusal::Answer(status, message.to_string()));
        let Some((id, what)) = rest.split_once('/') else {
            return refuse(404, "no such route");
        };
        let Ok(id) = id.parse::<u64>() else {
            return refuse(404, "no such run");
        };
        // Types a page elsewhere cannot send without asking first (CORS), unlike text/plain.
        let (expected_type, limit) = match what {
            "command" => ("application/json", MAX_COMMAND_BYTES),
            "csv" => ("text/csv", LIMITS.max_csv_bytes),
            _ => return refuse(404, "no such route"),
        };
        if request.content_type() != Some(expected_type) {
            return refuse(415, &format!("expected a body of {expected_type}"));
        }
        let body = request.body(limit)?;
        let command = if what == "csv" {
            Data::from_csv(&body)
                .map(Command::Upload)
                .map_err(|message| format!("CSV file: {message}"))
        } else {
            parse_command(&body)
        };
        let command = command.map_err(|message| Refusal::Answer(400, message))?;
        let orders = self.runs.lock().expect("runs").get(&id).cloned();
        let Some(orders) = orders else {
            return refuse(404, "this run has ended: reload the page for a new one");
        };
        let (reply, answer) = mpsc::channel();
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        if orders
            .send(Order {
                command,
                reply,
                deadline,
            })
            .is_err()
        {
            return refuse(404, "this run has ended: reload the page for a new one");
        }
        match answer.recv_timeout(COMMAND_TIMEOUT) {
            Ok(Ok(())) => Ok(Some(json!({ "ok": true }))),
            Ok(Err(message)) => refuse(400, &message),
            Err(_) => refuse(
                503,
                "the run is busy with a long computation and did not take the command within a \
                 second; it was not carried out: try again",
            ),
        }
    }

    /// `POST /api/self-test`: the page's self-test report (`?self-test`), JSON of at most
    /// [`MAX_REPORT_BYTES`], written to the `--self-test-report` file if one was given. Only its
    /// size reaches the terminal; the page's held load is released.
    fn take_report(&self, request: &mut Request) -> Result<Option<serde_json::Value>, Refusal> {
        if request.content_type() != Some("application/json") {
            let message = "expected a body of application/json";
            return Err(Refusal::Answer(415, message.into()));
        }
        let body = request.body(MAX_REPORT_BYTES)?;
        let report: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|error| Refusal::Answer(400, format!("bad report: {error}")))?;
        let kept = match &self.report_file {
            Some(path) => match write_replacing(path, escaped(&report).as_bytes()) {
                Ok(()) => format!("written to {}", path.display()),
                Err(error) => format!("not written to {}: {error}", path.display()),
            },
            None => "not kept (--self-test-report FILE keeps it)".to_string(),
        };
        println!("self-test report: {} bytes, {kept}", body.len());
        let (came, signal) = &self.self_test;
        *came.lock().expect("report") = true;
        signal.notify_all();
        Ok(Some(json!({ "ok": true })))
    }

    /// `GET /api/self-test/wait`: answered once the report has come (or after a minute), so
    /// that the page's load event, which this request holds, comes after the self-test, and
    /// Chromium's `--screenshot`, taken at load, shows the page trained.
    fn hold_for_report(&self, stream: TcpStream) {
        if self.self_test_waiters.fetch_add(1, Ordering::SeqCst) >= MAX_SELF_TEST_WAITERS {
            self.self_test_waiters.fetch_sub(1, Ordering::SeqCst);
            return respond_error(stream, 503, "too many requests waiting for a self-test");
        }
        let (came, signal) = &self.self_test;
        let deadline = Instant::now() + SELF_TEST_TIMEOUT;
        let mut report = came.lock().expect("report");
        while !*report && Instant::now() < deadline {
            report = signal
                .wait_timeout(report, deadline - Instant::now())
                .expect("report")
                .0;
        }
        drop(report);
        self.self_test_waiters.fetch_sub(1, Ordering::SeqCst);
        respond(stream, 204, "text/plain", b"");
    }
}

/// `value` as JSON with no control character left raw: serde_json escapes those below U+0020
/// but not DEL and U+0080–U+009F, which a terminal showing the file may obey.
fn escaped(value: &serde_json::Value) -> String {
    let mut text = String::new();
    for c in value.to_string().chars() {
        if c.is_control() {
            text += &format!("\\u{:04x}", u32::from(c));
        } else {
            text.push(c);
        }
    }
    text
}

/// Writes a temporary file beside `path` and renames it over `path`: never half a report.
fn write_replacing(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// A run's place in the registry, given up (and its stream closed) when the run's thread ends.
struct Slot<'a> {
    playground: &'a Playground,
    id: u64,
    outbox: &'a Outbox,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.playground.runs.lock().expect("runs").remove(&self.id);
        self.outbox.close();
    }
}

/// A run's thread: trains or measures in slices of at most a frame, takes commands between
/// them, and posts a frame every [`FRAME`] while working, when something changed, or every
/// [`HEARTBEAT`]. It ends when its stream closes or its page has been silent for
/// [`SILENCE_TIMEOUT`].
fn run_thread(inbox: &Receiver<Order>, outbox: &Outbox) {
    let mut run = Run::new();
    let mut heard = Instant::now();
    let mut due = Instant::now();
    loop {
        if run.busy() {
            run.work_until(due);
        } else {
            match inbox.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(order) => obey(&mut run, order, &mut heard),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        while let Ok(order) = inbox.try_recv() {
            obey(&mut run, order, &mut heard);
        }
        if outbox.is_closed() || heard.elapsed() > SILENCE_TIMEOUT {
            return;
        }
        let now = Instant::now();
        if run.busy() || run.changed || now >= due {
            for event in std::mem::take(&mut run.pending) {
                outbox.post(event.name, &event.data);
            }
            outbox.post_frame(&run.frame());
            // While working, frames keep to the beat (a late one does not delay the next).
            due = if run.busy() {
                (due + FRAME).clamp(now, now + FRAME)
            } else {
                Instant::now() + HEARTBEAT
            };
        }
    }
}

/// Carries out an order still awaited; one whose request has given up is dropped undone.
fn obey(run: &mut Run, order: Order, heard: &mut Instant) {
    *heard = Instant::now();
    if Instant::now() > order.deadline {
        return;
    }
    let outcome = run.obey(order.command);
    let _ = order.reply.send(outcome);
}

/// A command as the page sends it: `{"action": "play"}`, `{"action": "apply", "settings":
/// {...}}`, `{"action": "sharpness", "on": true}`, `{"action": "alive"}` (its sign of life).
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Incoming {
    Play,
    Pause,
    Step,
    Reset,
    Apply { settings: Settings },
    Sharpness { on: bool },
    Tape,
    Gradients,
    Alive,
}

/// The command in a request's JSON body, its settings checked: a message if anything is off.
fn parse_command(body: &[u8]) -> Result<Command, String> {
    let incoming: Incoming =
        serde_json::from_slice(body).map_err(|error| format!("bad command: {error}"))?;
    Ok(match incoming {
        Incoming::Play => Command::Play,
        Incoming::Pause => Command::Pause,
        Incoming::Step => Command::Step,
        Incoming::Reset => Command::Reset,
        Incoming::Apply { settings } => {
            settings.check()?;
            Command::Apply(settings)
        }
        Incoming::Sharpness { on } => Command::Sharpness(on),
        Incoming::Tape => Command::Tape,
        Incoming::Gradients => Command::Gradients,
        Incoming::Alive => Command::Alive,
    })
}

fn respond_json(stream: TcpStream, status: u16, body: &serde_json::Value) {
    respond(
        stream,
        status,
        "application/json",
        body.to_string().as_bytes(),
    );
}

fn respond_error(stream: TcpStream, status: u16, message: &str) {
    respond_json(stream, status, &json!({ "error": message }));
}
