//! Dispatch of the connection-level and node procedures (`CONNECT_GET_*`,
//! `NODE_GET_*`, `CONNECT_IS_*`).

use super::{args, ret, Reply};
use oxvirt::Connect;
use oxvirt_rpc::proto::remote::*;

/// A C string in a fixed `char[N]` field: bytes, NUL-padded, truncated to leave a NUL.
pub fn c_chars<const N: usize>(s: &str) -> [i8; N] {
    let mut out = [0i8; N];
    for (o, b) in out.iter_mut().zip(s.bytes().take(N.saturating_sub(1))) {
        *o = b as i8;
    }
    out
}

/// A C string in a variable `char<N>` field: its bytes plus the trailing NUL, as
/// libvirtd sends them (`strlen + 1`).
pub fn c_char_vec(s: &str) -> Vec<i8> {
    s.bytes().map(|b| b as i8).chain(std::iter::once(0)).collect()
}

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    Some(match proc {
        P::ConnectGetType => conn.get_type().and_then(|t| ret(&RemoteConnectGetTypeRet { r#type: t })),
        P::ConnectGetVersion => conn.version().and_then(|v| ret(&RemoteConnectGetVersionRet { hv_ver: v })),
        P::ConnectGetLibVersion => ret(&RemoteConnectGetLibVersionRet { lib_ver: conn.lib_version() }),
        P::ConnectGetHostname => conn.hostname().and_then(|h| ret(&RemoteConnectGetHostnameRet { hostname: h })),
        P::ConnectGetUri => ret(&RemoteConnectGetUriRet { uri: conn.uri() }),
        P::ConnectGetCapabilities => conn.capabilities().and_then(|c| ret(&RemoteConnectGetCapabilitiesRet { capabilities: c })),
        P::ConnectDomainXmlToNative => args::<RemoteConnectDomainXmlToNativeArgs>(payload)
            .and_then(|a| conn.domain_xml_to_native(&a.native_format, &a.domain_xml, a.flags))
            .and_then(|c| ret(&RemoteConnectDomainXmlToNativeRet { native_config: c })),
        P::ConnectGetSysinfo => args::<RemoteConnectGetSysinfoArgs>(payload)
            .and_then(|a| conn.sysinfo(a.flags))
            .and_then(|s| ret(&RemoteConnectGetSysinfoRet { sysinfo: s })),
        P::ConnectGetDomainCapabilities => args::<RemoteConnectGetDomainCapabilitiesArgs>(payload)
            .and_then(|a| {
                conn.domain_capabilities(a.emulatorbin.as_deref(), a.arch.as_deref(), a.machine.as_deref(), a.virttype.as_deref(), a.flags)
            })
            .and_then(|c| ret(&RemoteConnectGetDomainCapabilitiesRet { capabilities: c })),
        P::ConnectGetMaxVcpus => args::<RemoteConnectGetMaxVcpusArgs>(payload)
            .and_then(|a| conn.max_vcpus(a.r#type.as_deref()))
            .and_then(|n| ret(&RemoteConnectGetMaxVcpusRet { max_vcpus: n })),
        P::ConnectIsSecure => ret(&RemoteConnectIsSecureRet { secure: i32::from(conn.drivers().hypervisor.is_secure()) }),
        P::NodeGetInfo => conn.node_info().and_then(|i| {
            ret(&RemoteNodeGetInfoRet {
                model: c_chars::<32>(&i.model),
                memory: i.memory_kib,
                cpus: i.cpus as i32,
                mhz: i.mhz as i32,
                nodes: i.nodes as i32,
                sockets: i.sockets as i32,
                cores: i.cores as i32,
                threads: i.threads as i32,
            })
        }),
        P::NodeGetFreeMemory => conn.node_free_memory().and_then(|m| ret(&RemoteNodeGetFreeMemoryRet { free_mem: m })),
        P::NodeGetCellsFreeMemory => args::<RemoteNodeGetCellsFreeMemoryArgs>(payload)
            .and_then(|a| conn.node_cells_free_memory(a.start_cell, a.maxcells))
            .and_then(|cells| ret(&RemoteNodeGetCellsFreeMemoryRet { cells })),
        P::NodeGetSecurityModel => conn
            .node_security_model()
            .and_then(|m| ret(&RemoteNodeGetSecurityModelRet { model: c_char_vec(&m.model), doi: c_char_vec(&m.doi) })),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings() {
        let a = c_chars::<4>("abcdef");
        assert_eq!(a, [97, 98, 99, 0]);
        assert_eq!(c_char_vec("ab"), vec![97, 98, 0]);
        assert_eq!(c_char_vec(""), vec![0]);
    }
}
