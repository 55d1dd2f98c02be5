//! The Rust tables against the reference TSVs: procedure numbers, names, kinds,
//! payload structs and their fields, annotations, enums, the header, limits.

use super::tsv;
use oxvirt_rpc::consts;
use oxvirt_rpc::message::{Header, MessageStatus, MessageType};
use oxvirt_rpc::proto::remote::{RemoteAuthType, RemoteProcedure};
use oxvirt_rpc::proto::{self, Priority, ProcKind, Program, RemoteTypedParamValue, StreamDirection};

fn check_program(program: &Program, file: &str, expected: usize) {
    let rows = tsv::procs(file);
    assert_eq!(rows.len(), expected, "{file}");
    assert_eq!(program.procedures.len(), rows.len(), "{file}");
    for (row, info) in rows.iter().zip(program.procedures) {
        assert_eq!(program.procedure(row.num).map(|p| p.name), Some(row.name.as_str()));
        assert_eq!((info.number, info.name), (row.num, row.name.as_str()));
        assert_eq!(info.kind, if row.kind == "event" { ProcKind::Event } else { ProcKind::Call }, "{}", row.name);
        for (want, got, fields) in
            [(&row.args_struct, info.args, &row.args), (&row.ret_struct, info.ret, &row.ret), (&row.msg_struct, info.msg, &row.msg)]
        {
            let joined: Vec<String> = fields.iter().map(|(n, t)| format!("{n}:{t}")).collect();
            match got {
                None => assert_eq!(want, "void", "{}", row.name),
                Some(p) => {
                    assert_eq!(p.xdr_name, want, "{}", row.name);
                    assert_eq!(p.fields, joined.as_slice(), "{}", row.name);
                }
            }
        }
        let priority = if row.priority == "high" { Priority::High } else { Priority::Low };
        assert_eq!(info.priority, priority, "{}", row.name);
        assert_eq!(info.acl, if row.acl == "none" { "" } else { row.acl.as_str() }, "{}", row.name);
        assert_eq!(info.aclfilter, row.aclfilter, "{}", row.name);
        let stream =
            info.stream.map(|s| format!("{}:{}", if s.direction == StreamDirection::Read { "readstream" } else { "writestream" }, s.param));
        assert_eq!(stream.unwrap_or_default(), row.stream, "{}", row.name);
        assert_eq!(info.sparse_flag.unwrap_or_default(), row.sparseflag, "{}", row.name);
    }
}

#[test]
fn procedure_tables_match_reference() {
    check_program(&proto::remote::PROGRAM, "remote_procs.tsv", 443);
    check_program(&proto::qemu::PROGRAM, "qemu_procs.tsv", 7);
    check_program(&proto::lxc::PROGRAM, "lxc_procs.tsv", 1);
    check_program(&proto::admin::PROGRAM, "admin_procs.tsv", 19);
    assert_eq!(proto::remote::PROGRAM.number, 0x2000_8086);
    assert_eq!(proto::qemu::PROGRAM.number, 0x2000_8087);
    assert_eq!(proto::lxc::PROGRAM.number, 0x0006_8000);
    assert_eq!(proto::admin::PROGRAM.number, 0x0690_0690);
    assert_eq!(proto::keepalive::PROGRAM.number, 0x6b65_6570);
    let remote = &proto::remote::PROGRAM;
    assert_eq!(remote.procedures.iter().filter(|p| p.kind == ProcKind::Event).count(), 51);
    assert_eq!(remote.procedures.iter().filter(|p| p.priority == Priority::High).count(), 184);
    assert!(remote.procedure(0).is_none() && remote.procedure(444).is_none());
}

#[test]
fn procedure_enum_matches_table() {
    for info in proto::remote::PROGRAM.procedures {
        let p = RemoteProcedure::from_number(info.number).unwrap();
        assert_eq!(p as i32, info.number);
        assert_eq!(p.info().name, info.name);
    }
    assert_eq!(RemoteProcedure::ConnectOpen as i32, 1);
    assert_eq!(RemoteProcedure::DomainFdAssociate as i32, 443);
    assert_eq!(RemoteProcedure::from_number(9999), None);
}

#[test]
fn first_slice_is_covered() {
    let rows = tsv::rows("first_slice.tsv");
    assert_eq!(rows.len(), 65);
    for r in rows {
        let info = proto::remote::PROGRAM.procedure(r["num"].parse().unwrap()).unwrap();
        assert_eq!(info.name, r["name"]);
        let fields = |p: Option<proto::PayloadInfo>| p.map(|p| p.fields.join("; ")).unwrap_or_else(|| "void".into());
        let want = |k: &str| if r[k] == "-" { "void".to_string() } else { r[k].clone() };
        assert_eq!(fields(info.args), want("args"), "{}", info.name);
        if info.kind == ProcKind::Call {
            assert_eq!(fields(info.ret), want("ret"), "{}", info.name);
        } else {
            assert_eq!(fields(info.msg), want("msg"), "{}", info.name);
        }
    }
}

#[test]
fn enums_header_and_union_match_reference() {
    for t in tsv::types() {
        let members = || tsv::enum_members(&t.definition);
        let as_pairs = |m: &[(&str, i32)]| m.iter().map(|(n, v)| (n.to_string(), *v)).collect::<Vec<_>>();
        match t.name.as_str() {
            "virNetMessageType" => assert_eq!(as_pairs(MessageType::MEMBERS), members()),
            "virNetMessageStatus" => assert_eq!(as_pairs(MessageStatus::MEMBERS), members()),
            "remote_auth_type" => assert_eq!(as_pairs(RemoteAuthType::MEMBERS), members()),
            "virNetMessageHeader" => {
                let f: Vec<String> = tsv::fields(&t.definition).iter().map(|(n, ty)| format!("{n}:{ty}")).collect();
                assert_eq!(Header::FIELDS.to_vec(), f);
            }
            "remote_typed_param_value" => {
                let arms: Vec<String> = RemoteTypedParamValue::ARMS.iter().map(|(d, c, arm)| format!("case {c}({d}) => {arm}")).collect();
                assert_eq!(t.definition, format!("switch(type:int) {}", arms.join("; ")));
            }
            _ => assert_ne!(t.kind, "enum", "enum {} has no Rust counterpart", t.name),
        }
    }
}

#[test]
fn limits_match_reference() {
    let c = tsv::constants();
    assert_eq!(c.len(), 93);
    let get = |n: &str| c.iter().find(|r| r.1 == n).unwrap().2;
    assert_eq!(get("VIR_NET_MESSAGE_MAX"), u64::from(consts::VIR_NET_MESSAGE_MAX));
    assert_eq!(oxvirt_rpc::MESSAGE_MAX as u64, get("VIR_NET_MESSAGE_MAX"));
    assert_eq!(oxvirt_rpc::frame::MAX_PACKET as u64, get("VIR_NET_MESSAGE_MAX") + 4);
    assert_eq!(oxvirt_rpc::HEADER_LEN as u64, get("VIR_NET_MESSAGE_HEADER_MAX") + get("VIR_NET_MESSAGE_LEN_MAX"));
    assert_eq!(u64::from(oxvirt_rpc::xdr::STRING_MAX), get("REMOTE_STRING_MAX"));
    assert_eq!(u64::from(oxvirt_rpc::xdr::STRING_MAX), get("VIR_NET_MESSAGE_STRING_MAX"));
    assert_eq!(get("VIR_NET_MESSAGE_PAYLOAD_MAX"), get("VIR_NET_MESSAGE_MAX") - get("VIR_NET_MESSAGE_HEADER_MAX"));
    assert_eq!(u64::from(consts::REMOTE_DOMAIN_LIST_MAX), 16384);
    assert_eq!(u64::from(consts::VIR_NET_MESSAGE_NUM_FDS_MAX), 32);
}
