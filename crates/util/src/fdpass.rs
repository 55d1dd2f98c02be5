//! File-descriptor passing over unix sockets (`SCM_RIGHTS`), the way libvirt does it
//! (`virSocketSendFD`/`virSocketRecvFD`): each descriptor travels on its own
//! one-byte message. Received descriptors are [`OwnedFd`]s (close-on-exec), so every
//! error path closes them by dropping.
//!
//! The socket's blocking mode decides whether these calls block; on a non-blocking
//! socket they fail with `WouldBlock` like `read`/`write`.

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Most descriptors accepted from one `recvmsg`; more are closed by the kernel.
pub const RECV_FDS_MAX: usize = 32;

/// Read into `buf` and collect the descriptors that arrive with the bytes. `Ok((0,
/// _))` is end of file.
pub fn recv_with_fds(sock: impl AsFd, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(RECV_FDS_MAX))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(buf)];
    let got = recvmsg(sock.as_fd(), &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(rights) = msg {
            fds.extend(rights);
        }
    }
    Ok((got.bytes, fds))
}

/// Send `data` with `fds` attached (one `sendmsg`); how many bytes were written. The
/// descriptors go with the first byte, so `data` must not be empty.
pub fn send_with_fds(sock: impl AsFd, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len().max(1)))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "too many file descriptors for one message"));
    }
    Ok(sendmsg(sock.as_fd(), &[IoSlice::new(data)], &mut control, SendFlags::NOSIGNAL)?)
}

/// Send one descriptor on its own one-byte message (libvirt's `virSocketSendFD`).
pub fn send_fd(sock: impl AsFd, fd: BorrowedFd<'_>) -> io::Result<()> {
    match send_with_fds(sock, &[0], &[fd])? {
        1 => Ok(()),
        _ => Err(io::Error::new(io::ErrorKind::WriteZero, "Failed to send file descriptor")),
    }
}

/// Receive one descriptor sent by [`send_fd`] (libvirt's `virSocketRecvFD`): a byte
/// without a descriptor is `PermissionDenied` (libvirt's `EACCES`), end of file
/// `NotConnected`. Extra descriptors on the same byte are closed.
pub fn recv_fd(sock: impl AsFd) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let (n, fds) = recv_with_fds(sock, &mut byte)?;
    match (n, fds.into_iter().next()) {
        (0, _) => Err(io::Error::from(io::ErrorKind::NotConnected)),
        (_, Some(fd)) => Ok(fd),
        (_, None) => Err(io::Error::from(io::ErrorKind::PermissionDenied)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_descriptor_crosses_a_socketpair() -> io::Result<()> {
        let (a, b) = UnixStream::pair()?;
        let (c, d) = UnixStream::pair()?;
        send_fd(&a, c.as_fd())?;
        drop(c);
        let mut e = UnixStream::from(recv_fd(&b)?);
        e.write_all(b"hello")?;
        drop(e);
        let mut s = String::new();
        (&d).read_to_string(&mut s)?;
        assert_eq!(s, "hello");
        // A byte without a descriptor, then end of file.
        (&a).write_all(b"x")?;
        assert_eq!(recv_fd(&b).err().map(|e| e.kind()), Some(io::ErrorKind::PermissionDenied));
        drop(a);
        assert_eq!(recv_fd(&b).err().map(|e| e.kind()), Some(io::ErrorKind::NotConnected));
        Ok(())
    }
}
