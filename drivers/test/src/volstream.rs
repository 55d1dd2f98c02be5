//! Volume upload and download streams of the test driver.
//!
//! libvirt 9.0's test driver has neither; oxvirt's keeps each volume's contents in
//! memory ([`PoolObj::data`]), so that clients can exercise streams end to end. A
//! volume behaves like a block device of `capacity` bytes: unwritten bytes read as
//! zeros, and a write past the capacity fails. Every chunk is applied under the state
//! lock as it arrives (like writes to a file), so an aborted upload leaves what was
//! already written. Sparse downloads report each run of all-zero [`BLOCK`]-sized
//! blocks as a hole, as a file system with that block size would.

use crate::state::Driver;
use crate::storage::PoolObj;
use oxvirt::stream::{StreamChunk, StreamDriver};
use oxvirt::{Error, ErrorCode, ErrorDomain, Result, StorageVolRef};
use std::sync::Arc;

/// Granularity of holes in sparse downloads.
pub(crate) const BLOCK: u64 = 4096;

/// Size of volume `j` of `o` as a download sees it.
pub(crate) fn vol_size(o: &PoolObj, j: usize) -> u64 {
    let v = &o.vols[j];
    let written = o.data.get(&v.name).map_or(0, |d| d.len() as u64);
    v.capacity.max(written)
}

fn stream_error(msg: String) -> Error {
    Error::new(ErrorCode::OperationFailed, ErrorDomain::Storage, msg)
}

/// An upload in progress: writes land at `pos`, which starts at the offset.
pub(crate) struct Upload {
    drv: Arc<Driver>,
    vol: StorageVolRef,
    pos: u64,
    /// Where the requested length ends (`u64::MAX`: no limit).
    end: u64,
}

impl Upload {
    pub(crate) fn new(drv: Arc<Driver>, vol: StorageVolRef, offset: u64, length: u64) -> Upload {
        let end = if length == 0 { u64::MAX } else { offset.saturating_add(length) };
        Upload { drv, vol, pos: offset, end }
    }

    /// Write `len` bytes at `pos`: `data`, or zeros for a hole.
    fn write(&mut self, data: Option<&[u8]>, len: u64) -> Result<()> {
        let stop = self
            .pos
            .checked_add(len)
            .filter(|s| *s <= self.end)
            .ok_or_else(|| stream_error(format!("upload to volume '{}' goes past the requested length", self.vol.name)))?;
        let vol = self.vol.clone();
        let start = self.pos;
        self.drv.with(|st| {
            let (p, j) = st.vol_pos(&vol)?;
            let o = &mut st.pools[p];
            let cap = o.vols[j].capacity;
            let buf = o.data.entry(vol.name.clone()).or_default();
            let limit = cap.max(buf.len() as u64);
            if stop > limit {
                return Err(stream_error(format!("cannot write past the end of volume '{}' ({limit} bytes)", vol.name)));
            }
            let to_usize = |n: u64| usize::try_from(n).map_err(|_| stream_error("volume too large for memory".into()));
            let (s, e) = (to_usize(start)?, to_usize(stop)?);
            match data {
                Some(d) => {
                    if buf.len() < e {
                        buf.resize(e, 0);
                    }
                    buf[s..e].copy_from_slice(d);
                }
                // A hole only has to clear bytes already written.
                None => {
                    let e = e.min(buf.len());
                    if s < e {
                        buf[s..e].fill(0);
                    }
                }
            }
            Ok(())
        })?;
        self.pos = stop;
        Ok(())
    }
}

impl StreamDriver for Upload {
    fn send(&mut self, data: &[u8]) -> Result<()> {
        self.write(Some(data), data.len() as u64)
    }

    fn send_hole(&mut self, length: u64) -> Result<()> {
        self.write(None, length)
    }
}

/// A download in progress: reads from `pos` up to `end`.
pub(crate) struct Download {
    drv: Arc<Driver>,
    vol: StorageVolRef,
    pos: u64,
    end: u64,
    sparse: bool,
}

impl Download {
    pub(crate) fn new(drv: Arc<Driver>, vol: StorageVolRef, offset: u64, end: u64, sparse: bool) -> Download {
        Download { drv, vol, pos: offset, end, sparse }
    }
}

/// Whether `buf[from..to]` (clipped to the buffer) is all zeros.
fn zeros(buf: &[u8], from: u64, to: u64) -> bool {
    let len = buf.len() as u64;
    if from >= len {
        return true;
    }
    // In range: `from < len` and `to.min(len) <= len`, both fit in usize.
    let (f, t) = (from as usize, to.min(len) as usize);
    buf[f..t].iter().all(|b| *b == 0)
}

/// The next chunk of `buf` (a volume of logical size `end`) from `pos`.
fn next_chunk(buf: &[u8], pos: u64, end: u64, max: usize, sparse: bool) -> StreamChunk {
    if pos >= end {
        return StreamChunk::Eof;
    }
    let max = max as u64;
    if sparse {
        // Walk block by block while the kind (hole or data) stays the same.
        let block_end = |p: u64| ((p / BLOCK + 1) * BLOCK).min(end);
        let hole = zeros(buf, pos, block_end(pos));
        let mut stop = block_end(pos);
        while stop < end && zeros(buf, stop, block_end(stop)) == hole && (hole || stop - pos < max) {
            if hole && stop >= buf.len() as u64 {
                stop = end;
                break;
            }
            stop = block_end(stop);
        }
        if hole {
            return StreamChunk::Hole(stop - pos);
        }
        return StreamChunk::Data(slice(buf, pos, stop.min(pos + max)));
    }
    StreamChunk::Data(slice(buf, pos, end.min(pos + max)))
}

/// `buf[from..to]`, zero-filled past the buffer's end.
fn slice(buf: &[u8], from: u64, to: u64) -> Vec<u8> {
    let mut out = vec![0u8; usize::try_from(to - from).unwrap_or(0)];
    let len = buf.len() as u64;
    if from < len {
        let (f, t) = (from as usize, to.min(len) as usize);
        out[..t - f].copy_from_slice(&buf[f..t]);
    }
    out
}

impl StreamDriver for Download {
    fn recv(&mut self, max: usize) -> Result<StreamChunk> {
        let vol = self.vol.clone();
        let (pos, end, sparse) = (self.pos, self.end, self.sparse);
        let chunk = self.drv.with(|st| {
            let (p, _) = st.vol_pos(&vol)?;
            let empty = Vec::new();
            let buf = st.pools[p].data.get(&vol.name).unwrap_or(&empty);
            Ok(next_chunk(buf, pos, end, max.max(1), sparse))
        })?;
        self.pos += match &chunk {
            StreamChunk::Data(d) => d.len() as u64,
            StreamChunk::Hole(n) => *n,
            StreamChunk::Eof => 0,
        };
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks() {
        let mut buf = vec![0u8; 3 * BLOCK as usize];
        buf[BLOCK as usize + 5] = 7;
        let end = 10 * BLOCK;
        assert_eq!(next_chunk(&buf, 0, end, 100, true), StreamChunk::Hole(BLOCK));
        let StreamChunk::Data(d) = next_chunk(&buf, BLOCK, end, 1 << 20, true) else { panic!("data expected") };
        assert_eq!((d.len(), d[5]), (BLOCK as usize, 7));
        assert_eq!(next_chunk(&buf, 2 * BLOCK, end, 100, true), StreamChunk::Hole(8 * BLOCK));
        assert_eq!(next_chunk(&buf, end, end, 100, true), StreamChunk::Eof);
        let StreamChunk::Data(d) = next_chunk(&buf, BLOCK + 5, end, 3, false) else { panic!("data expected") };
        assert_eq!(d, [7, 0, 0]);
        let StreamChunk::Data(d) = next_chunk(&buf, end - 2, end, 100, false) else { panic!("data expected") };
        assert_eq!(d, [0, 0]);
    }
}
