use serde_json::json;

use super::*;

fn body() -> Value {
    json!({
        "location": "West Europe",
        "tags": {"spillway.io/cluster": "c1"},
        "properties": {
            "osType": "Linux",
            "containers": [{"name": "app", "properties": {
                "image": "nginx",
                "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}},
                "ports": [{"port": 80}],
                "environmentVariables": [{"name": "A_B", "value": "1"}, {"name": "S", "secureValue": "x"}]
            }}],
            "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}], "dnsNameLabel": "app-label"}
        }
    })
}

fn code(name: &str, b: &Value) -> String {
    validate_group(name, b, &Limits::default()).unwrap_err().code
}

#[test]
fn accepts_a_valid_body() {
    let spec = validate_group("cg-1", &body(), &Limits::default()).unwrap();
    assert_eq!(spec.region, "westeurope");
    assert_eq!(spec.cpu, 1.0);
    assert_eq!(spec.containers, vec![("app".to_owned(), "nginx".to_owned())]);
    assert_eq!(
        spec.ip,
        Some(IpRequest {
            private: false,
            dns_label: Some("app-label".into())
        })
    );
    assert_eq!(spec.restart_policy, RestartPolicy::Always);
}

#[test]
fn group_names_follow_the_arm_rules() {
    for ok in ["a", "cg-1", "0abc", &"a".repeat(63)] {
        assert!(is_valid_group_name(ok), "{ok}");
    }
    for bad in ["", "-a", "a-", "a--b", "Upper", "a_b", "a.b", &"a".repeat(64)] {
        assert!(!is_valid_group_name(bad), "{bad}");
    }
    assert_eq!(
        check_path("00000000-0000-0000-0000-000000000000", Some("rg"), Some("Bad"))
            .unwrap_err()
            .code,
        "InvalidContainerGroupName"
    );
    assert_eq!(
        check_path("sub", None, None).unwrap_err().code,
        "InvalidSubscriptionId"
    );
    assert_eq!(
        check_path("00000000-0000-0000-0000-000000000000", Some("rg."), None)
            .unwrap_err()
            .code,
        "InvalidResourceGroupName"
    );
}

#[test]
fn rejects_missing_and_invalid_fields_with_codes() {
    let mut b = body();
    b.as_object_mut().unwrap().remove("location");
    assert_eq!(code("cg", &b), "LocationRequired");

    let mut b = body();
    b["properties"].as_object_mut().unwrap().remove("osType");
    assert_eq!(code("cg", &b), "InvalidOsType");

    let mut b = body();
    b["properties"]["containers"][0]["properties"]["resources"] = json!({});
    assert_eq!(code("cg", &b), "ResourceRequestsNotSpecified");

    let mut b = body();
    b["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = json!(32);
    assert_eq!(code("cg", &b), "ResourceRequestsExceedLimit");

    let mut b = body();
    b["properties"]["containers"] = json!([]);
    assert_eq!(code("cg", &b), "ContainerGroupContainersMissing");

    let mut b = body();
    b["properties"]["containers"][0]["name"] = json!("App");
    assert_eq!(code("cg", &b), "InvalidContainerName");

    let mut b = body();
    b["properties"]["ipAddress"]["dnsNameLabel"] = json!("Teste");
    assert_eq!(code("cg", &b), "InvalidDnsNameLabel");

    let mut b = body();
    b["properties"]["ipAddress"]["ports"][0]["port"] = json!(70000);
    assert_eq!(code("cg", &b), "InvalidPort");

    let mut b = body();
    b["properties"]["containers"][0]["properties"]["image"] = json!(null);
    assert_eq!(code("cg", &b), "ContainerImageNotSpecified");

    let mut b = body();
    b["properties"]["ipAddress"]["type"] = json!("Private");
    assert_eq!(code("cg", &b), "PrivateIpAddressRequiresSubnet");

    let mut b = body();
    b["properties"]["containers"][0]["properties"]["cpu"] = json!("x");
    b["properties"]["containers"][0]["properties"]["resources"]["requests"]["memoryInGB"] = json!("lots");
    assert_eq!(code("cg", &b), "InvalidRequestContent");

    assert_eq!(code("cg", &json!([1])), "InvalidRequestContent");
}

#[test]
fn spot_limits_and_no_vnet() {
    let mut b = body();
    b["properties"]["priority"] = json!("Spot");
    b["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = json!(5);
    assert_eq!(code("cg", &b), "ResourceRequestsExceedLimit");

    let mut b = body();
    b["properties"]["priority"] = json!("Spot");
    b["properties"]["subnetIds"] = json!([{"id": "/subscriptions/x/subnets/aci"}]);
    assert_eq!(code("cg", &b), "SpotVnetNotSupported");

    let mut b = body();
    b["properties"]["priority"] = json!("Spot");
    let spec = validate_group("cg", &b, &Limits::default()).unwrap();
    assert!(spec.spot);
}

#[test]
fn vnet_group_without_ip_address_gets_a_private_one() {
    let mut b = body();
    b["properties"].as_object_mut().unwrap().remove("ipAddress");
    b["properties"]["subnetIds"] = json!([{"id": "/subscriptions/x/subnets/aci"}]);
    let spec = validate_group("cg", &b, &Limits::default()).unwrap();
    assert_eq!(
        spec.ip,
        Some(IpRequest {
            private: true,
            dns_label: None
        })
    );
    assert_eq!(spec.subnet.as_deref(), Some("/subscriptions/x/subnets/aci"));
}

#[test]
fn zones_and_dns_config_follow_the_spec() {
    let mut b = body();
    b["zones"] = json!(["2"]);
    b["properties"]["dnsConfig"] = json!({"nameServers": ["10.0.0.10"], "searchDomains": "shop.svc.cluster.local cluster.local", "options": "ndots:5"});
    assert!(validate_group("cg-1", &b, &Limits::default()).is_ok());
    let mut z = body();
    z["zones"] = json!([2]);
    assert_eq!(code("cg-1", &z), "InvalidRequestContent");
    z["zones"] = json!("2");
    assert_eq!(code("cg-1", &z), "InvalidRequestContent");
    z["zones"] = json!([""]);
    assert_eq!(code("cg-1", &z), "InvalidAvailabilityZone");
    z["zones"] = json!(["1", "2", "3"]);
    assert_eq!(code("cg-1", &z), "ResourceTypeNotSupportMultiZones");
    let mut d = body();
    d["properties"]["dnsConfig"] = json!({"searchDomains": "cluster.local"});
    assert_eq!(code("cg-1", &d), "InvalidRequestContent");
    d["properties"]["dnsConfig"] = json!({"nameServers": ["10.0.0.10"], "searchDomains": ["cluster.local"]});
    assert_eq!(code("cg-1", &d), "InvalidRequestContent");
    d["properties"]["dnsConfig"] = json!({"nameServers": "10.0.0.10"});
    assert_eq!(code("cg-1", &d), "InvalidRequestContent");
}
