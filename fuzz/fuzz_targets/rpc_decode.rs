//! Fuzz the wire-protocol decoders: the incremental frame decoder fed in arbitrary
//! chunks, and every REMOTE procedure's argument/return decoder on the payload. Any
//! input must give packets or errors, never a panic or an allocation beyond the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxvirt_rpc::proto::remote::PROCEDURES;
use oxvirt_rpc::FrameDecoder;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut dec = FrameDecoder::new();
    for piece in rest.chunks(chunk) {
        dec.push(piece);
        while let Ok(Some(pkt)) = dec.next_packet() {
            let idx = usize::try_from(pkt.header.procedure).unwrap_or(0) % PROCEDURES.len();
            let info = &PROCEDURES[idx];
            for p in [info.args, info.ret].into_iter().flatten() {
                let mut r = oxvirt_rpc::xdr::Reader::new(&pkt.payload);
                let _ = (p.decode)(&mut r);
            }
        }
    }
    let _ = dec.finish();
});
