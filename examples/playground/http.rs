//! The little HTTP/1.1 the page needs, on `std::net`, with every size and wait bounded: a
//! request's head is read within [`REQUEST_TIMEOUT`] and its caps, a body only after its route
//! has accepted its declared length, and answers are written within [`WRITE_TIMEOUT`]. One
//! request per connection (`Connection: close`), one thread per connection, at most
//! [`MAX_CONNECTIONS`] at once.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// The longest request line (method, path and version), in bytes.
pub const MAX_REQUEST_LINE: usize = 8 << 10;
/// The longest header line, in bytes.
pub const MAX_HEADER_LINE: usize = 8 << 10;
/// All the header lines together, in bytes, and how many there may be.
pub const MAX_HEADER_BYTES: usize = 32 << 10;
pub const MAX_HEADERS: usize = 100;
/// How long a client has to send a whole request, head and body, from its connection.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an answer may take to be taken by the client before the connection is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections open at once, event streams included; one more is answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 128;
/// After an answer, how long and how much of a body still coming is read and dropped.
pub const LINGER: Duration = Duration::from_secs(1);
pub const MAX_LINGER_BYTES: usize = 4 << 20;

/// A request's head, read within the caps; the body is read by [`Request::body`] once the route
/// knows how much it takes.
pub struct Request {
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    headers: Vec<(String, String)>,
    reader: BufReader<DeadlineStream>,
}

/// Why a request was not read: the status to answer with and a message, or nothing to answer
/// (the client closed or went silent).
pub enum Refusal {
    Answer(u16, String),
    Silent,
}

impl Request {
    /// Reads the head of the one request on `stream`.
    pub fn read(stream: TcpStream) -> Result<Request, Refusal> {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        let mut reader = BufReader::new(DeadlineStream { stream, deadline });
        let line = read_line(&mut reader, MAX_REQUEST_LINE, 414, "the request line")?;
        let mut parts = line.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("a request line of METHOD PATH HTTP/1.1"));
        };
        if version != "HTTP/1.1" && version != "HTTP/1.0" {
            return Err(Refusal::Answer(505, "HTTP/1.1 only".into()));
        }
        let path = target.split('?').next().unwrap_or_default().to_string();
        let (method, mut headers, mut total) = (method.to_string(), Vec::new(), 0);
        loop {
            let line = read_line(&mut reader, MAX_HEADER_LINE, 431, "a header line")?;
            if line.is_empty() {
                break;
            }
            total += line.len();
            if total > MAX_HEADER_BYTES || headers.len() >= MAX_HEADERS {
                return Err(Refusal::Answer(
                    431,
                    format!(
                        "the headers are over {MAX_HEADER_BYTES} bytes or {MAX_HEADERS} lines, \
                         the most read"
                    ),
                ));
            }
            // A continuation line (obsolete folding) or a name with spaces would let two
            // readers disagree about the headers: refused, as RFC 9112 allows.
            let Some((name, value)) = line.split_once(':') else {
                return Err(bad("a header line of NAME: VALUE"));
            };
            if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace()) {
                return Err(bad("a header name without spaces"));
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        Ok(Request {
            method,
            path,
            headers,
            reader,
        })
    }

    /// The value of header `name` (lowercase), if it came once: a repeated one counts as absent,
    /// so that a repeated `Host` or `Content-Type` is refused rather than guessed at.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let first = values.next()?;
        values.next().is_none().then_some(first.1.as_str())
    }

    /// The body's media type, without parameters (`text/csv; charset=utf-8` is `text/csv`).
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
            .and_then(|value| value.split(';').next())
            .map(str::trim)
    }

    /// The body, at most `limit` bytes: a larger declared length is refused before a byte of it
    /// is read, and the body must arrive within the request's deadline.
    pub fn body(&mut self, limit: usize) -> Result<Vec<u8>, Refusal> {
        if self
            .headers
            .iter()
            .any(|(name, _)| name == "transfer-encoding")
        {
            return Err(Refusal::Answer(
                411,
                "send the body with a Content-Length".into(),
            ));
        }
        let declared = self
            .headers
            .iter()
            .filter(|(name, _)| name == "content-length");
        let mut length = None;
        for (_, value) in declared {
            let parsed = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<u64>().unwrap_or(u64::MAX))
                .ok_or_else(|| bad("a Content-Length of digits"))?;
            if length.is_some_and(|length| length != parsed) {
                return Err(bad("one Content-Length"));
            }
            length = Some(parsed);
        }
        let length = length.unwrap_or(0);
        if length > limit as u64 {
            return Err(Refusal::Answer(
                413,
                format!("the request has {length} bytes, more than the {limit} this route reads"),
            ));
        }
        let mut body = vec![0; length as usize];
        self.reader
            .read_exact(&mut body)
            .map_err(|_| Refusal::Silent)?;
        Ok(body)
    }

    /// The connection, for an answer or a stream; from now on writes wait [`WRITE_TIMEOUT`] at
    /// most and reads nothing.
    pub fn into_stream(self) -> TcpStream {
        let stream = self.reader.into_inner().stream;
        let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        stream
    }
}

fn bad(expected: &str) -> Refusal {
    Refusal::Answer(400, format!("malformed request: expected {expected}"))
}

/// One line ending in CRLF (or LF), at most `limit` bytes, as text.
fn read_line(
    reader: &mut BufReader<DeadlineStream>,
    limit: usize,
    status: u16,
    what: &str,
) -> Result<String, Refusal> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(limit as u64 + 2)
        .read_until(b'\n', &mut line)
        .map_err(|_| Refusal::Silent)?;
    if read == 0 {
        return Err(Refusal::Silent);
    }
    if line.last() != Some(&b'\n') {
        if line.len() > limit {
            return Err(Refusal::Answer(
                status,
                format!("{what} is over {limit} bytes, the most read"),
            ));
        }
        return Err(Refusal::Silent); // the client closed mid-line
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad("text in the head"))
}

/// A connection whose every read waits until a deadline at most.
struct DeadlineStream {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for DeadlineStream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buffer)
    }
}

/// Writes a whole answer and closes the connection; a client gone before it is no error of ours.
pub fn respond(mut stream: TcpStream, status: u16, content_type: &str, body: &[u8]) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    if stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok() {
        let _ = stream.flush();
    }
    // Closing with unread bytes would reset the connection and could destroy the answer
    // before the client reads it (a refused upload still being sent): half-close, then read
    // and drop what still comes, within bounds, before closing.
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut drained = 0;
    let mut scratch = [0; 16 << 10];
    while drained < MAX_LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(read) => drained += read,
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
