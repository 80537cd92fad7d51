//! Two-dimensional classification data: scikit-learn's two moons, and `x1,x2,label` CSV files.

use std::fmt;
use std::io::{BufRead, BufReader, Cursor, Read, SeekFrom};
use std::path::{Path, PathBuf};

use crate::Tensor;

mod moons;
mod spiral;

pub use moons::{make_moons, make_moons_numpy};
pub use spiral::make_spiral;

/// The most bytes [`load_csv`] and [`read_csv`] read: 64 MiB, about 2.5 million rows of three
/// short numbers, far beyond a 2-D toy set. More is an error, so that `/dev/zero` or a runaway
/// pipe fails at once instead of filling memory.
///
/// ```
/// use tapegrad::datasets::{DataError, MAX_CSV_BYTES, parse_csv};
/// let blank_line = format!("{}\n", " ".repeat(1023)); // 1 KiB
/// let text = blank_line.repeat(MAX_CSV_BYTES as usize / 1024) + "1,2,0\n";
/// let error = parse_csv(&text).unwrap_err();
/// assert!(matches!(error, DataError::TooLarge { line: 65537 }));
/// ```
pub const MAX_CSV_BYTES: u64 = 64 << 20;

/// The longest line accepted, in bytes (without its line ending). A row of three `f64`s written
/// in full is under 80 bytes; the cap bounds what one line can make the reader hold.
///
/// ```
/// use tapegrad::datasets::{MAX_LINE_BYTES, parse_csv};
/// let padded = format!("1,2,{}0\n", " ".repeat(MAX_LINE_BYTES - 5)); // spaces are trimmed
/// assert!(parse_csv(&padded).is_ok());
/// let long = format!("1,2,{}0\n", " ".repeat(MAX_LINE_BYTES - 4));
/// assert_eq!(parse_csv(&long).unwrap_err().to_string(), "line 1, column 3: longer than 4096 bytes (MAX_LINE_BYTES)");
/// ```
pub const MAX_LINE_BYTES: usize = 4096;

/// Labels must be below this: 256 classes. A label is a class index, and the network built on
/// the data gets one output per class, so a label of 10⁸ would ask for 10⁸ outputs.
///
/// ```
/// use tapegrad::datasets::{MAX_CLASSES, parse_csv};
/// assert_eq!(parse_csv(&format!("1,2,{}", MAX_CLASSES - 1)).unwrap().1, [MAX_CLASSES - 1]);
/// assert!(parse_csv(&format!("1,2,{MAX_CLASSES}")).is_err());
/// assert!(parse_csv("1,2,18446744073709551615").is_err()); // not wrapped to 0 classes
/// ```
pub const MAX_CLASSES: usize = 256;

/// An empty vector with room for `len` elements; panics, naming `op`, what is counted and the
/// caller's line, when `len` overflowed (`None`) or the allocator has no room for it, where a
/// plain `Vec::with_capacity` would abort the process.
#[track_caller]
pub(crate) fn room_for<T>(op: &str, what: &str, len: Option<usize>) -> Vec<T> {
    let mut room = Vec::new();
    if len.is_none_or(|len| room.try_reserve_exact(len).is_err()) {
        crate::tensor::shape_panic(op, format_args!("{what}: more than memory can hold"));
    }
    room
}

/// How many characters of an offending field an error quotes before cutting it short.
const QUOTED_CHARS: usize = 40;

/// Why a data file could not be loaded.
#[derive(Debug)]
pub enum DataError {
    /// The file could not be opened.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Reading failed part way, after `line - 1` whole lines.
    Read {
        /// The 1-based line being read.
        line: usize,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A row is not `x1,x2,label` with two numbers and a class index, or breaks a cap
    /// ([`MAX_LINE_BYTES`], [`MAX_CLASSES`]).
    Parse {
        /// The 1-based line number.
        line: usize,
        /// The 1-based column (field) number.
        column: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The data goes on past [`MAX_CSV_BYTES`].
    TooLarge {
        /// The 1-based line being read when the cap was reached.
        line: usize,
    },
    /// The file has no data rows.
    Empty,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            DataError::Read { line, source } => write!(f, "line {line}: cannot read: {source}"),
            DataError::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {message}"),
            DataError::TooLarge { line } => write!(
                f,
                "line {line}: the data goes on past {MAX_CSV_BYTES} bytes (64 MiB), the most read"
            ),
            DataError::Empty => write!(f, "no data rows (expected lines of x1,x2,label)"),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } | DataError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads 2-D points and labels from a CSV file of `x1,x2,label` rows; see [`read_csv`].
///
/// ```
/// use tapegrad::datasets::{DataError, load_csv};
/// assert!(matches!(load_csv("/nonexistent.csv"), Err(DataError::Io { .. })));
/// // Endless input ends at the first line longer than MAX_LINE_BYTES, not out of memory.
/// let error = load_csv("/dev/zero").unwrap_err();
/// assert!(error.to_string().starts_with("line 1, column 1: longer than 4096 bytes"));
/// ```
pub fn load_csv(path: impl AsRef<Path>) -> Result<(Tensor, Vec<usize>), DataError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_csv(file)
}

/// Parses `x1,x2,label` rows from a string; see [`read_csv`].
///
/// ```
/// use tapegrad::datasets::parse_csv;
///
/// let (x, labels) = parse_csv("x1,x2,label\n0.5,1.0,0\n-1,2e-1,1\n").unwrap();
/// assert_eq!(x.data(), &[0.5, 1.0, -1.0, 0.2]);
/// assert_eq!(labels, vec![0, 1]);
///
/// let error = parse_csv("0.5,abc,0\n").unwrap_err();
/// assert_eq!(error.to_string(), "line 1, column 2: 'abc' is not a number");
/// ```
pub fn parse_csv(text: &str) -> Result<(Tensor, Vec<usize>), DataError> {
    read_csv(text.as_bytes())
}

/// Reads `x1,x2,label` rows into an `[n, 2]` tensor and the labels. PyTorch has no loader of its
/// own for this; pandas: `pd.read_csv(path)`.
///
/// The CSV is read as RFC 4180 and spreadsheet exports write it (by the `csv` crate): fields may
/// be in double quotes, lines may end in CRLF, and a UTF-8 byte-order mark at the start is
/// skipped. A first line none of whose fields is a number is a header; blank lines are skipped.
/// Anything else that is not two finite numbers and a class label below [`MAX_CLASSES`] is an
/// error naming the line and the column, quoting at most 40 characters of the field.
///
/// Memory stays bounded whatever comes: at most [`MAX_CSV_BYTES`] are read (through
/// [`Read::take`]) and a line may hold at most [`MAX_LINE_BYTES`], which also bounds its number
/// of fields (and each line is read and parsed alone). A quoted field must end on its line:
/// numbers and labels hold no line breaks.
///
/// ```
/// use tapegrad::datasets::read_csv;
///
/// let spreadsheet = "\u{FEFF}\"x1\",\"x2\",\"label\"\r\n\"0.5\",\"1\",\"1\"\r\n";
/// let (x, labels) = read_csv(spreadsheet.as_bytes()).unwrap();
/// assert_eq!((x.data(), labels.as_slice()), (&[0.5, 1.0][..], &[1][..]));
///
/// let error = read_csv(&b"1,2,0\n1,2,100000000\n"[..]).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "line 2, column 3: class 100000000 is not below 256, the most classes accepted (MAX_CLASSES)"
/// );
/// ```
pub fn read_csv(reader: impl Read) -> Result<(Tensor, Vec<usize>), DataError> {
    let mut input = BufReader::new(reader.take(MAX_CSV_BYTES + 1));
    // One csv reader for every line, rewound onto each in turn: the lines are cut here, with
    // their caps, because the csv crate grows a record to whatever size comes.
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(Cursor::new(Vec::with_capacity(MAX_LINE_BYTES + 2)));
    let mut record = csv::ByteRecord::new();
    let (mut data, mut labels) = (Vec::new(), Vec::new());
    let mut total = 0;
    for line in 1.. {
        let text = csv.get_mut().get_mut();
        text.clear();
        // Two bytes past the cap: room for a CRLF after a line of exactly MAX_LINE_BYTES.
        let read = (&mut input)
            .take(MAX_LINE_BYTES as u64 + 2)
            .read_until(b'\n', text)
            .map_err(|source| DataError::Read { line, source })?;
        if read == 0 {
            break;
        }
        total += read as u64;
        if total > MAX_CSV_BYTES {
            return Err(DataError::TooLarge { line });
        }
        check_line(text, line)?;
        csv.seek_raw(SeekFrom::Start(0), csv::Position::new())
            .and_then(|()| csv.read_byte_record(&mut record))
            .expect("the csv reader reads a buffer in memory");
        let blank = record.is_empty() || (record.len() == 1 && record[0].is_empty());
        if blank || (line == 1 && is_header(&record)) {
            continue;
        }
        let [x1, x2] = parse_row(&record, line, &mut labels)?;
        data.extend([x1, x2]);
    }
    if labels.is_empty() {
        return Err(DataError::Empty);
    }
    let x = Tensor::new(data, &[labels.len(), 2]).expect("two numbers per row");
    Ok((x, labels))
}

/// Drops the line ending of `text`, line number `line`; an error if what is left is longer than
/// [`MAX_LINE_BYTES`] or opens a quoted field it does not close.
fn check_line(text: &mut Vec<u8>, line: usize) -> Result<(), DataError> {
    let error = |column: usize, message: String| DataError::Parse {
        line,
        column,
        message,
    };
    if text.last() == Some(&b'\n') {
        text.pop();
        if text.last() == Some(&b'\r') {
            text.pop();
        }
    }
    if text.len() > MAX_LINE_BYTES {
        let commas = text[..=MAX_LINE_BYTES]
            .iter()
            .filter(|&&b| b == b',')
            .count();
        let message = format!("longer than {MAX_LINE_BYTES} bytes (MAX_LINE_BYTES)");
        return Err(error(commas + 1, message));
    }
    // A lone CR would end a record inside the line, and the rest of the line would be lost.
    if let Some(at) = text.iter().position(|&b| b == b'\r') {
        let commas = text[..at].iter().filter(|&&b| b == b',').count();
        let message = "a carriage return (CR) inside the line".into();
        return Err(error(commas + 1, message));
    }
    // Quotes pair up, escaped ones (`""`) included: an odd count leaves a field open.
    if text.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
        let last = text.iter().rposition(|&b| b == b'"').unwrap_or(0);
        let commas = text[..last].iter().filter(|&&b| b == b',').count();
        let message = "a quoted field does not end on its line".into();
        return Err(error(commas + 1, message));
    }
    Ok(())
}

/// The two numbers of a data row; its label goes onto `labels`.
fn parse_row(
    record: &csv::ByteRecord,
    line: usize,
    labels: &mut Vec<usize>,
) -> Result<[f64; 2], DataError> {
    let error = |column: usize, message: String| DataError::Parse {
        line,
        column,
        message,
    };
    let mut fields = [""; 3];
    for (index, bytes) in record.iter().enumerate() {
        let text = std::str::from_utf8(bytes).map_err(|utf8| {
            let byte = bytes[utf8.valid_up_to()];
            let at = utf8.valid_up_to() + 1;
            error(
                index + 1,
                format!("byte {at} (0x{byte:02x}) is not valid UTF-8"),
            )
        })?;
        if index < 3 {
            fields[index] = text;
        }
    }
    if record.len() != 3 {
        // The first missing field, or the first one too many.
        return Err(error(
            (record.len() + 1).min(4),
            format!("expected 3 fields (x1,x2,label), found {}", record.len()),
        ));
    }
    let mut numbers = [0.0; 2];
    for (column, (field, number)) in fields.iter().zip(&mut numbers).enumerate() {
        *number = match field.parse::<f64>() {
            Ok(value) if value.is_finite() => value,
            Ok(_) => return Err(error(column + 1, format!("{} is not finite", quote(field)))),
            Err(_) => {
                return Err(error(
                    column + 1,
                    format!("{} is not a number", quote(field)),
                ));
            }
        };
    }
    let label = fields[2];
    match label.parse::<usize>() {
        Ok(class) if class < MAX_CLASSES => labels.push(class),
        // All digits: a class index, only too large (even for a usize).
        _ if !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()) => {
            let message = format!(
                "class {} is not below {MAX_CLASSES}, the most classes accepted (MAX_CLASSES)",
                label.chars().take(QUOTED_CHARS).collect::<String>()
            );
            return Err(error(3, message));
        }
        _ => {
            let message = format!("{} is not a class label (0, 1, 2, …)", quote(label));
            return Err(error(3, message));
        }
    }
    Ok(numbers)
}

/// `'field'`, with control characters escaped and at most [`QUOTED_CHARS`] characters shown, so
/// that a 100 MB field cannot flood the terminal.
fn quote(field: &str) -> String {
    let shown: String = field.chars().take(QUOTED_CHARS).collect();
    let escaped = shown.escape_debug();
    if shown.len() < field.len() {
        format!("'{escaped}…' ({} bytes)", field.len())
    } else {
        format!("'{escaped}'")
    }
}

/// Whether a first line is a header: none of its fields is a number.
fn is_header(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|field| std::str::from_utf8(field).map_or(true, |text| text.parse::<f64>().is_err()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_name_line_and_column() {
        let cases = [
            (
                "1,2,0\n1,2\n",
                "line 2, column 3: expected 3 fields (x1,x2,label), found 2",
            ),
            (
                "1,2,0,4\n",
                "line 1, column 4: expected 3 fields (x1,x2,label), found 4",
            ),
            (
                "x,y,label\n1,2,0\n3,nan,1\n",
                "line 3, column 2: 'nan' is not finite",
            ),
            (
                "1,2,-1\n",
                "line 1, column 3: '-1' is not a class label (0, 1, 2, …)",
            ),
            (
                "1,2,0.5\n",
                "line 1, column 3: '0.5' is not a class label (0, 1, 2, …)",
            ),
            ("oops,1,0\n", "line 1, column 1: 'oops' is not a number"),
            (
                "x1,x2,label\n\n",
                "no data rows (expected lines of x1,x2,label)",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse_csv(text).unwrap_err().to_string(),
                message,
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_header_is_only_a_first_line_of_words() {
        // A non-numeric first line is a header; the same line further down is an error.
        assert!(parse_csv("x1,x2,label\n1,2,0\n").is_ok());
        let error = parse_csv("1,2,0\nx1,x2,label\n").unwrap_err();
        assert_eq!(error.to_string(), "line 2, column 1: 'x1' is not a number");
    }

    #[test]
    fn spreadsheet_exports_are_read() {
        let expected = (vec![0.5, 1.0, -2.0, 3.0], vec![1, 0]);
        let texts = [
            "x1,x2,label\n0.5,1,1\n-2,3,0\n",
            "\u{FEFF}x1,x2,label\r\n0.5,1,1\r\n-2,3,0\r\n",
            "\u{FEFF}0.5,1,1\n-2,3,0",
            "\"x1\",\"x2\",\"label\"\r\n\"0.5\",\"1\",\"1\"\r\n\"-2\",\"3\",\"0\"\r\n",
            // All quoted and no header: the first row is data, not a header.
            "\"0.5\",\"1\",\"1\"\n\"-2\",\"3\",\"0\"\n\n",
        ];
        for text in texts {
            let (x, labels) = parse_csv(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!((x.into_data(), labels), expected, "{text:?}");
        }
    }

    #[test]
    fn everything_else_names_line_and_column() {
        let long = "9".repeat(5000);
        let cases: [(&[u8], &str); 10] = [
            (
                b"1,2,0\r5,6,1\n",
                "line 1, column 3: a carriage return (CR) inside the line",
            ),
            (
                b"1,2,0\n1,\xff2,0\n",
                "line 2, column 2: byte 1 (0xff) is not valid UTF-8",
            ),
            (
                b"1,2,0\n1,\xEF\xBB\xBF2,0\n",
                "line 2, column 2: '\\u{feff}2' is not a number",
            ),
            (
                b"1,2,0\n3,\"4\n5\",1\n",
                "line 2, column 2: a quoted field does not end on its line",
            ),
            (
                b"1,2,100000000\n",
                "line 1, column 3: class 100000000 is not below 256, the most classes accepted (MAX_CLASSES)",
            ),
            (
                b"1,2,18446744073709551615\n",
                "line 1, column 3: class 18446744073709551615 is not below 256, the most classes accepted (MAX_CLASSES)",
            ),
            (
                b"1,2,256\n",
                "line 1, column 3: class 256 is not below 256, the most classes accepted (MAX_CLASSES)",
            ),
            (
                b"1,2,0\n\n1,2,99999999999999999999999\n",
                "line 3, column 3: class 99999999999999999999999 is not below 256, the most classes accepted (MAX_CLASSES)",
            ),
            (
                format!("1,2,0\n1,{long},0\n").as_bytes().to_vec().leak(),
                "line 2, column 2: longer than 4096 bytes (MAX_LINE_BYTES)",
            ),
            (
                b"1,2,0\n1,x\0y,0\n",
                "line 2, column 2: 'x\\0y' is not a number",
            ),
        ];
        for (bytes, message) in cases {
            let text = String::from_utf8_lossy(bytes);
            let error = read_csv(bytes).expect_err(&text);
            assert_eq!(
                error.to_string(),
                message,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(parse_csv("1,2,255\n").unwrap().1, vec![255]);
    }

    #[test]
    fn a_long_field_is_quoted_by_a_short_prefix() {
        let field = "z".repeat(3000);
        let error = parse_csv(&format!("1,{field},0\n"))
            .unwrap_err()
            .to_string();
        let expected = format!(
            "line 1, column 2: '{}…' (3000 bytes) is not a number",
            "z".repeat(40)
        );
        assert_eq!(error, expected);
    }

    #[test]
    fn the_byte_cap_is_exact() {
        // MAX_CSV_BYTES of blank lines (spaces, then a newline) and a row: they pass; a byte more does not.
        let blank = format!("{}\n", " ".repeat(1023));
        let lines = (MAX_CSV_BYTES / 1024) as usize;
        let mut text = blank.repeat(lines - 1) + &" ".repeat(1018) + "1,2,0\n";
        assert_eq!(text.len() as u64, MAX_CSV_BYTES);
        assert_eq!(parse_csv(&text).unwrap().1, vec![0]);
        text.push('\n');
        let error = parse_csv(&text).unwrap_err();
        assert!(
            matches!(error, DataError::TooLarge { line } if line == lines + 1),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "line {}: the data goes on past 67108864 bytes (64 MiB), the most read",
                lines + 1
            )
        );
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let error = load_csv("/nonexistent/points.csv").unwrap_err();
        assert!(matches!(error, DataError::Io { .. }));
        assert!(
            error
                .to_string()
                .starts_with("cannot read /nonexistent/points.csv: ")
        );
    }
}
