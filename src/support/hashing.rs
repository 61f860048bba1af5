//! sha256 of installers, as fast as the CPU hashes (SPEC §6: every artifact is hashed before it runs).
//!
//! The `sha2` crate picks its SHA-NI (x86_64) or ARMv8 SHA2 code at run time, so one core hashes
//! about as fast as OpenSSL. What is left is the read: copying a buffer from the page cache (or waiting
//! for the disk) while the hash waits costs 10-15 % on a warm cache and much more on a cold one. So an
//! input longer than one buffer is read on the calling thread while a second thread hashes the previous
//! buffer: [`BUFFERS`] buffers of [`CHUNK`] bytes go round between the two (memory stays at a few MiB
//! whatever the size). An input that fits in one buffer is hashed without a thread.
//!
//! Measured on a warm 1 GiB file (2 cores, SHA-NI): 64 KiB reads one after the other 1.53 GB/s; 1 MiB
//! reads 1.58-1.64 GB/s (with `posix_fadvise(SEQUENTIAL)` or without); two or three 1 MiB buffers
//! overlapped 1.76 GB/s, which is what sha2 hashes from memory (1.79 GB/s) — 4 MiB buffers gain
//! nothing more. See BENCHMARKS.md (`cargo xtask bench --only-hash`).

use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc;

use sha2::{Digest, Sha256};

/// Bytes read at a time (one buffer).
const CHUNK: usize = 1 << 20;
/// Buffers in flight: one being read, one being hashed, one ready in between.
const BUFFERS: usize = 3;

/// Lowercase hex sha256 of a file, streaming (at most [`BUFFERS`] x [`CHUNK`] bytes of buffers).
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    advise_sequential(&file);
    sha256_reader(file)
}

/// Lowercase hex sha256 of everything `r` yields, streaming: reads on this thread, hashes on another
/// when the input is longer than one buffer.
pub fn sha256_reader(mut r: impl Read) -> io::Result<String> {
    let mut first = vec![0u8; CHUNK];
    let n = fill(&mut r, &mut first)?;
    if n < CHUNK {
        // The whole input: no thread for a small file.
        return Ok(hex(&Sha256::digest(&first[..n])));
    }
    let digest = pipelined(r, first)?;
    Ok(hex(&digest))
}

/// Reads `r` into buffers on this thread and hashes them on a scoped thread, starting with `first`
/// (a full buffer already read).
fn pipelined(mut r: impl Read, first: Vec<u8>) -> io::Result<sha2::digest::Output<Sha256>> {
    std::thread::scope(|scope| {
        // Full buffers (with their length) to the hasher; empty ones back.
        let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(BUFFERS);
        let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
        let spawned = std::thread::Builder::new()
            .name("sha256".into())
            .spawn_scoped(scope, move || {
                let mut h = Sha256::new();
                for (buf, n) in full_rx {
                    h.update(&buf[..n]);
                    // The reader may have stopped (an error): the buffer is then dropped here.
                    let _ = empty_tx.send(buf);
                }
                h.finalize()
            });
        let hasher = match spawned {
            Ok(h) => h,
            // No thread to be had (a limit): one buffer, read and hash in turn.
            Err(_) => return sequential(&mut r, first),
        };
        let result = feed(&mut r, first, &full_tx, &empty_rx);
        // Closing the channel ends the hasher's loop (also after a read error).
        drop(full_tx);
        let digest = match hasher.join() {
            Ok(d) => d,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        result.map(|()| digest)
    })
}

/// Hashes `first`, then the rest of `r` through the same buffer.
fn sequential(r: &mut impl Read, mut buf: Vec<u8>) -> io::Result<sha2::digest::Output<Sha256>> {
    let mut h = Sha256::new();
    let mut n = buf.len();
    while n > 0 {
        h.update(&buf[..n]);
        n = fill(r, &mut buf)?;
    }
    Ok(h.finalize())
}

/// The reading half of [`pipelined`]: `first`, then buffers filled from `r`, to `full`; buffers come
/// back on `empty` once hashed. Returns at the end of the input, on a read error or when the hasher is
/// gone (its join says why).
fn feed(
    r: &mut impl Read,
    first: Vec<u8>,
    full: &mpsc::SyncSender<(Vec<u8>, usize)>,
    empty: &mpsc::Receiver<Vec<u8>>,
) -> io::Result<()> {
    if full.send((first, CHUNK)).is_err() {
        return Ok(());
    }
    let mut allocated = 1;
    loop {
        let mut buf = if allocated < BUFFERS {
            allocated += 1;
            vec![0u8; CHUNK]
        } else {
            match empty.recv() {
                Ok(b) => b,
                Err(_) => return Ok(()),
            }
        };
        let n = fill(r, &mut buf)?;
        if n == 0 || full.send((buf, n)).is_err() || n < CHUNK {
            return Ok(());
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read (less than `buf.len()` only at
/// the end of the input).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(m) => n += m,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Tells the kernel the file is read once, start to end (a larger read-ahead on a cold cache).
/// Advice only: an error changes nothing.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn advise_sequential(file: &std::fs::File) {
    use std::os::unix::io::AsRawFd;
    // SAFETY: posix_fadvise(2) on a valid open descriptor, whole file (offset 0, length 0); it only
    // changes the kernel's read-ahead.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL);
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn advise_sequential(_file: &std::fs::File) {}

/// An incremental sha256 for bytes that arrive in pieces (a download): feed it with [`Hasher::update`]
/// (or as an [`io::Write`], e.g. the second half of a tee), then [`Hasher::finish_hex`].
#[derive(Clone, Default)]
pub struct Hasher {
    inner: Sha256,
    bytes: u64,
}

impl Hasher {
    pub fn new() -> Hasher {
        Hasher::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
        self.bytes += data.len() as u64;
    }

    /// Bytes hashed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Lowercase hex sha256 of everything fed.
    pub fn finish_hex(self) -> String {
        hex(&self.inner.finalize())
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hex sha256 of bytes in memory.
pub fn sha256_bytes(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(b))
}

/// The bytes of lowercase or uppercase hex, `None` when it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    /// Deterministic bytes that are not periodic within a buffer.
    fn bytes(len: usize) -> Vec<u8> {
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    }

    fn one_shot(b: &[u8]) -> String {
        hex(&Sha256::digest(b))
    }

    #[test]
    fn known_vectors() {
        assert_eq!(sha256_reader(&b""[..]).unwrap(), EMPTY);
        assert_eq!(sha256_reader(&b"abc"[..]).unwrap(), ABC);
        let mut h = Hasher::new();
        h.update(b"a");
        h.update(b"");
        h.update(b"bc");
        assert_eq!(h.bytes(), 3);
        assert_eq!(h.finish_hex(), ABC);
        assert_eq!(Hasher::new().finish_hex(), EMPTY);
    }

    #[test]
    fn files_of_several_buffers_hash_as_one_shot() {
        let dir = tempfile::tempdir().unwrap();
        // Below, at and around one buffer, exactly the buffers in flight, and several rounds of them
        // with a partial last buffer.
        for len in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            BUFFERS * CHUNK,
            (2 * BUFFERS + 1) * CHUNK + 12_345,
        ] {
            let data = bytes(len);
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &data).unwrap();
            assert_eq!(sha256_file(&path).unwrap(), one_shot(&data), "{len} bytes");
        }
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }

    /// A reader that yields odd-sized pieces, is interrupted now and then and may fail after `fail_at`.
    struct Choppy {
        data: Vec<u8>,
        pos: usize,
        calls: usize,
        fail_at: Option<usize>,
    }

    impl Read for Choppy {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(7) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.fail_at.is_some_and(|f| self.pos >= f) {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(1 + self.calls * 4099 % 300_000);
            let n = n.min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn short_reads_interruptions_and_errors() {
        let data = bytes(5 * CHUNK + 777);
        let choppy = |fail_at| Choppy {
            data: data.clone(),
            pos: 0,
            calls: 0,
            fail_at,
        };
        assert_eq!(sha256_reader(choppy(None)).unwrap(), one_shot(&data));
        for fail_at in [10, CHUNK + 5, 4 * CHUNK] {
            let e = sha256_reader(choppy(Some(fail_at))).unwrap_err();
            assert_eq!(e.to_string(), "disk on fire");
        }
    }

    #[test]
    fn sequential_fallback() {
        let data = bytes(2 * CHUNK + 3);
        let mut r = &data[CHUNK..];
        let got = sequential(&mut r, data[..CHUNK].to_vec()).unwrap();
        assert_eq!(hex(&got), one_shot(&data));
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data = bytes(3 * CHUNK + 5);
        let mut h = Hasher::new();
        let mut rest = &data[..];
        let mut step = 1;
        while !rest.is_empty() {
            let (a, b) = rest.split_at(step.min(rest.len()));
            h.update(a);
            rest = b;
            step = step * 3 + 1;
        }
        assert_eq!(h.bytes(), data.len() as u64);
        let mut w = Hasher::new();
        io::copy(&mut &data[..], &mut w).unwrap();
        w.flush().unwrap();
        let expected = one_shot(&data);
        assert_eq!(h.clone().finish_hex(), expected);
        assert_eq!(h.finish_hex(), expected);
        assert_eq!(w.finish_hex(), expected);
        assert_eq!(sha256_reader(&data[..]).unwrap(), expected);
    }
}
