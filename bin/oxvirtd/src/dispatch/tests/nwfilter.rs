//! Network filter procedures through `dispatch_call`.

use super::super::network::test_support::*;
use oxvirt::ErrorCode;
use oxvirt_rpc::proto::remote::*;
use RemoteProcedure as P;

const FILTER: &str = "<filter name='no-spoof' chain='root'><uuid>d217f2d7-5a04-0e01-8b98-ec2743436b74</uuid>\
<rule action='drop' direction='out' priority='500'><mac match='no' srcmacaddr='$MAC'/></rule></filter>";

#[test]
fn nwfilter_lifecycle() {
    let c = open_full();
    let before: RemoteConnectNumOfNwfiltersRet = call0(&c, P::ConnectNumOfNwfilters).unwrap();
    let d: RemoteNwfilterDefineXmlFlagsRet =
        call(&c, P::NwfilterDefineXmlFlags, &RemoteNwfilterDefineXmlFlagsArgs { xml: FILTER.into(), flags: 0 }).unwrap();
    assert_eq!(d.nwfilter.name, "no-spoof");
    let again: RemoteNwfilterDefineXmlRet = call(&c, P::NwfilterDefineXml, &RemoteNwfilterDefineXmlArgs { xml: FILTER.into() }).unwrap();
    assert_eq!(again.nwfilter, d.nwfilter);
    let n: RemoteConnectNumOfNwfiltersRet = call0(&c, P::ConnectNumOfNwfilters).unwrap();
    assert_eq!(n.num, before.num + 1);
    let l: RemoteConnectListNwfiltersRet = call(&c, P::ConnectListNwfilters, &RemoteConnectListNwfiltersArgs { maxnames: 1000 }).unwrap();
    assert!(l.names.contains(&"no-spoof".to_string()));
    let all: RemoteConnectListAllNwfiltersRet =
        call(&c, P::ConnectListAllNwfilters, &RemoteConnectListAllNwfiltersArgs { need_results: 1, flags: 0 }).unwrap();
    assert_eq!(all.ret as usize, all.filters.len());
    assert_eq!(all.ret as i32, n.num);
    let by_name: RemoteNwfilterLookupByNameRet =
        call(&c, P::NwfilterLookupByName, &RemoteNwfilterLookupByNameArgs { name: "no-spoof".into() }).unwrap();
    let by_uuid: RemoteNwfilterLookupByUuidRet =
        call(&c, P::NwfilterLookupByUuid, &RemoteNwfilterLookupByUuidArgs { uuid: d.nwfilter.uuid }).unwrap();
    assert_eq!((by_name.nwfilter.clone(), by_uuid.nwfilter), (d.nwfilter.clone(), d.nwfilter.clone()));
    let x: RemoteNwfilterGetXmlDescRet =
        call(&c, P::NwfilterGetXmlDesc, &RemoteNwfilterGetXmlDescArgs { nwfilter: d.nwfilter.clone(), flags: 0 }).unwrap();
    assert!(x.xml.contains("no-spoof"));
    call_void(&c, P::NwfilterUndefine, &RemoteNwfilterUndefineArgs { nwfilter: d.nwfilter }).unwrap();
    let r =
        call::<_, RemoteNwfilterLookupByNameRet>(&c, P::NwfilterLookupByName, &RemoteNwfilterLookupByNameArgs { name: "no-spoof".into() });
    assert_err(r, ErrorCode::NoNwfilter, "no-spoof");
    let r = call::<_, RemoteConnectListNwfiltersRet>(&c, P::ConnectListNwfilters, &RemoteConnectListNwfiltersArgs { maxnames: 20000 });
    assert_err(r, ErrorCode::Rpc, "maxnames > REMOTE_NWFILTER_LIST_MAX");
    assert_err(
        call::<_, RemoteConnectListAllNwfilterBindingsRet>(
            &c,
            P::ConnectListAllNwfilterBindings,
            &RemoteConnectListAllNwfilterBindingsArgs { need_results: 1, flags: 0 },
        ),
        ErrorCode::NoSupport,
        "virConnectListAllNWFilterBindings",
    );
}
