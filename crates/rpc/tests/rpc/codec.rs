//! XDR primitives and packet framing: round trips, libvirt's quirks, malformed input.

use oxvirt_rpc::frame::{FrameDecoder, FrameError, Packet, MAX_PACKET};
use oxvirt_rpc::message::{Header, MessageStatus, MessageType};
use oxvirt_rpc::proto::remote::{RemoteConnectOpenArgs, RemoteDomainGetInfoRet, RemoteNodeGetInfoRet};
use oxvirt_rpc::proto::RemoteTypedParamValue;
use oxvirt_rpc::xdr::{Decode, DecodeBounded, Encode, EncodeBounded, Reader, Writer, XdrError};
use proptest::prelude::*;

fn rt<T: Encode + Decode + PartialEq + std::fmt::Debug>(v: T) -> Vec<u8> {
    let b = v.to_bytes().unwrap();
    assert_eq!(b.len() % 4, 0);
    assert_eq!(T::from_bytes(&b).unwrap(), v);
    b
}

#[test]
fn primitives_have_libvirt_wire_forms() {
    assert_eq!(rt(-2i32), [0xff, 0xff, 0xff, 0xfe]);
    assert_eq!(rt(7u64), [0, 0, 0, 0, 0, 0, 0, 7]);
    assert_eq!(rt(1.5f64), 1.5f64.to_bits().to_be_bytes());
    assert_eq!(rt(-1i8), [0xff; 4], "char is a sign-extended word");
    assert_eq!(rt(200u8), [0, 0, 0, 200], "unsigned char is a word");
    assert_eq!(rt(-3i16), [0xff, 0xff, 0xff, 0xfd]);
    assert_eq!(rt("abcde".to_string()), [0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]);
    assert_eq!(rt(Some("x".to_string())), [0, 0, 0, 1, 0, 0, 0, 1, b'x', 0, 0, 0]);
    assert_eq!(rt(None::<String>), [0, 0, 0, 0]);
    assert_eq!(rt([1u8; 16]).len(), 16, "opaque[16] has no length word");
    assert_eq!(rt([0i8; 32]).len(), 128, "char[32] is 32 words");
    assert_eq!(rt(RemoteTypedParamValue::String("s".into())), [0, 0, 0, 7, 0, 0, 0, 1, b's', 0, 0, 0]);
    assert_eq!(rt(RemoteTypedParamValue::Double(0.5)).len(), 12);
    let mut w = Writer::new();
    vec![1u8, 2, 3].encode_bounded(&mut w, 10).unwrap();
    assert_eq!(w.as_bytes(), [0, 0, 0, 3, 1, 2, 3, 0], "opaque<N> is packed");
    let mut w = Writer::new();
    vec![1i8, 2].encode_bounded(&mut w, 10).unwrap();
    assert_eq!(w.as_bytes(), [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2], "char<N> is widened");
}

#[test]
fn decoding_is_lenient_where_glibc_is() {
    // Any non-zero word is true / present (old go-libvirt sends 01 00 00 00).
    assert!(bool::from_bytes(&[1, 0, 0, 0]).unwrap());
    let open = RemoteConnectOpenArgs::from_bytes(&[1, 0, 0, 0, 0, 0, 0, 1, b'x', 0, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(open.name.as_deref(), Some("x"));
    // Padding content is ignored.
    assert_eq!(String::from_bytes(&[0, 0, 0, 1, b'y', 9, 9, 9]).unwrap(), "y");
    // Trailing bytes: an error for from_bytes, ignored by from_bytes_prefix.
    assert_eq!(u32::from_bytes(&[0; 8]), Err(XdrError::TrailingBytes(4)));
    assert_eq!(u32::from_bytes_prefix(&[0; 8]), Ok((0, 4)));
}

#[test]
fn decoding_rejects_bad_input() {
    assert!(matches!(u32::from_bytes(&[0, 0, 1]), Err(XdrError::Truncated { .. })));
    assert!(matches!(String::from_bytes(&[0, 0, 0, 5, b'a']), Err(XdrError::Truncated { .. })));
    assert_eq!(String::from_bytes(&[0, 0, 0, 1, 0xff, 0, 0, 0]), Err(XdrError::InvalidUtf8));
    assert_eq!(String::from_bytes(&[0, 0x40, 0, 1]), Err(XdrError::TooLong { len: 4_194_305, max: 4_194_304 }));
    assert_eq!(
        RemoteTypedParamValue::from_bytes(&[0, 0, 0, 9, 0, 0, 0, 0]),
        Err(XdrError::InvalidDiscriminant { name: "remote_typed_param_value", value: 9 })
    );
    let mut r = Reader::new(&[0, 0, 0, 3, 1, 2]);
    assert!(matches!(Vec::<u32>::decode_bounded(&mut r, 2), Err(XdrError::TooLong { len: 3, max: 2 })));
    // A huge count with no data fails before allocating.
    let mut r = Reader::new(&[0x00, 0xff, 0xff, 0xff]);
    assert!(matches!(Vec::<u64>::decode_bounded(&mut r, u32::MAX), Err(XdrError::Truncated { .. })));
    let mut w = Writer::new();
    assert!(vec![0u32; 3].encode_bounded(&mut w, 2).is_err(), "encoding checks bounds too");
    assert_eq!(XdrError::InvalidUtf8.to_vir_error().code, oxvirt_util::ErrorCode::Rpc);
}

#[test]
fn observed_payloads_decode() {
    // NODE_GET_INFO's char model[32] takes 128 bytes; DOMAIN_GET_INFO's uchar state a word.
    let mut b = Vec::new();
    for c in b"x86_64".iter().copied().chain(std::iter::repeat(0)).take(32) {
        b.extend_from_slice(&u32::from(c).to_be_bytes());
    }
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&[0; 4 * 6]);
    let info = RemoteNodeGetInfoRet::from_bytes(&b).unwrap();
    assert_eq!(info.model[..6].iter().map(|&c| c as u8).collect::<Vec<_>>(), b"x86_64");
    let ret = RemoteDomainGetInfoRet { state: 1, max_mem: 8, memory: 4, nr_virt_cpu: 2, cpu_time: 9 };
    assert_eq!(ret.to_bytes().unwrap().len(), 4 + 8 + 8 + 4 + 8);
}

fn packet(msg_type: MessageType, payload: Vec<u8>) -> Packet {
    let header = Header { msg_type, ..Header::call(0x2000_8086, 1, 2) };
    Packet { header, nfds: if msg_type.has_fds() { 2 } else { 0 }, payload }
}

#[test]
fn connect_open_packet_matches_brief() {
    let args = RemoteConnectOpenArgs { name: Some("test:///default".into()), flags: 0 };
    let p = Packet::with_body(Header::call(0x2000_8086, 1, 2), &args).unwrap();
    let bytes = p.to_bytes().unwrap();
    assert_eq!(bytes.len(), 56);
    assert_eq!(&bytes[..8], [0, 0, 0, 0x38, 0x20, 0, 0x80, 0x86]);
    assert_eq!(Packet::from_frame(&bytes).unwrap(), p);
    let reply = Packet { header: p.header.reply(MessageStatus::OK), ..Packet::default() };
    assert_eq!(reply.to_bytes().unwrap(), [0, 0, 0, 0x1c, 0x20, 0, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0]);
    let ping = Packet { header: Header::keepalive(1), ..Packet::default() };
    assert_eq!(&ping.to_bytes().unwrap()[4..12], b"keep\0\0\0\x01");
}

#[test]
fn fd_packets_carry_the_count() {
    let p = packet(MessageType::CALL_WITH_FDS, vec![0, 0, 0, 7]);
    let bytes = p.to_bytes().unwrap();
    assert_eq!(bytes.len(), 28 + 4 + 4);
    assert_eq!(&bytes[28..32], [0, 0, 0, 2]);
    assert_eq!(Packet::from_frame(&bytes).unwrap(), p);
    let mut too_many = bytes.clone();
    too_many[31] = 33;
    assert_eq!(Packet::from_frame(&too_many), Err(FrameError::TooManyFds { nfds: 33 }));
    let mut no_count = packet(MessageType::CALL, vec![]).to_bytes().unwrap();
    no_count[19] = 4;
    assert_eq!(Packet::from_frame(&no_count), Err(FrameError::MissingFdCount));
}

#[test]
fn decoder_rejects_bad_lengths_and_stays_failed() {
    for (len, err) in [
        (3u32, FrameError::TooSmall { len: 3 }),
        (20, FrameError::HeaderTruncated { len: 20 }),
        (MAX_PACKET as u32 + 1, FrameError::TooLarge { len: MAX_PACKET as u32 + 1 }),
    ] {
        let mut d = FrameDecoder::new();
        d.push(&len.to_be_bytes());
        assert_eq!(d.next_packet(), Err(err.clone()));
        d.push(&[0; 64]);
        assert_eq!(d.next_packet(), Err(err.clone()), "stays failed");
        assert_eq!(err.to_vir_error().domain, oxvirt_util::ErrorDomain::Rpc);
    }
    // The largest legal length is accepted (and nothing is reserved for it up front).
    let mut d = FrameDecoder::new();
    d.push(&(MAX_PACKET as u32).to_be_bytes());
    assert_eq!(d.next_packet(), Ok(None));
    assert_eq!(d.wanted(), MAX_PACKET - 4);
    assert!(d.buffered() < 64);
    assert!(matches!(d.finish(), Err(FrameError::TruncatedAtEof { buffered: 4, .. })));
    let too_big = Packet { payload: vec![0; MAX_PACKET], ..Packet::default() };
    assert!(matches!(too_big.to_bytes(), Err(FrameError::PayloadTooLarge { .. })));
}

proptest! {
    #[test]
    fn decoder_reassembles_any_chunking(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
        cuts in proptest::collection::vec(1usize..50, 1..20),
    ) {
        let packets: Vec<Packet> = payloads.into_iter().enumerate()
            .map(|(i, p)| Packet { header: Header::call(1, i as i32, i as u32), nfds: 0, payload: p })
            .collect();
        let stream: Vec<u8> = packets.iter().flat_map(|p| p.to_bytes().unwrap()).collect();
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        let mut pos = 0;
        for c in cuts.iter().cycle() {
            if pos >= stream.len() { break; }
            let end = (pos + c).min(stream.len());
            d.push(&stream[pos..end]);
            pos = end;
            while let Some(p) = d.next_packet().unwrap() { got.push(p); }
        }
        prop_assert_eq!(got, packets);
        prop_assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn decoder_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut d = FrameDecoder::new();
        d.push(&bytes);
        while let Ok(Some(p)) = d.next_packet() {
            let _ = p.body::<RemoteConnectOpenArgs>();
        }
        let _ = d.finish();
    }

    #[test]
    fn strings_and_arrays_round_trip(s in "\\PC{0,40}", v in proptest::collection::vec(any::<i64>(), 0..20), o in proptest::collection::vec(any::<u8>(), 0..33)) {
        prop_assert_eq!(String::from_bytes(&s.to_bytes().unwrap()).unwrap(), s);
        let mut w = Writer::new();
        v.encode_bounded(&mut w, 20).unwrap();
        o.encode_bounded(&mut w, 33).unwrap();
        let mut r = Reader::new(w.as_bytes());
        prop_assert_eq!(Vec::<i64>::decode_bounded(&mut r, 20).unwrap(), v);
        prop_assert_eq!(Vec::<u8>::decode_bounded(&mut r, 33).unwrap(), o);
        prop_assert_eq!(r.remaining(), 0);
    }
}
