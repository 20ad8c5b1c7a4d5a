//! Draft harness (discovery run).

use serde_json::Value;
use tessera_jwt::{Jwk, KeySet, VerifyingKey, DEFAULT_MAX_TOKEN_LEN};

const JWS_FILE: &str = include_str!("vectors/wycheproof/json_web_signature_test.json");
const JWK_FILE: &str = include_str!("vectors/wycheproof/json_web_key_test.json");

fn outcome_jws(group: &Value, token: &str) -> Result<String, String> {
    let key = group.get("public").or_else(|| group.get("private")).expect("key");
    let jwk: Jwk = serde_json::from_value(key.clone()).map_err(|e| format!("jwk parse: {e}"))?;
    let vk = VerifyingKey::from_jwk(&jwk).map_err(|e| format!("key load: {e:?}"))?;
    let ks = KeySet::new(vec![vk]).map_err(|e| format!("keyset: {e:?}"))?;
    ks.verify_signature(token, DEFAULT_MAX_TOKEN_LEN)
        .map(|v| format!("{:?}", v.header()))
        .map_err(|e| format!("verify: {e:?}"))
}

fn outcome_jwk(group: &Value, token: &str) -> Result<String, String> {
    let key = group.get("public").or_else(|| group.get("private")).expect("key");
    let json = serde_json::to_vec(key).expect("ser");
    let ks = KeySet::from_jwks_json(&json).map_err(|e| format!("keyset: {e:?}"))?;
    ks.verify_signature(token, DEFAULT_MAX_TOKEN_LEN)
        .map(|v| format!("{:?} keys={}", v.header(), ks.keys().len()))
        .map_err(|e| format!("verify: {e:?} keys={}", ks.keys().len()))
}

#[test]
fn discover() {
    for (file, f) in [(JWS_FILE, outcome_jws as fn(&Value, &str) -> _), (JWK_FILE, outcome_jwk)] {
        let v: Value = serde_json::from_str(file).expect("json");
        for g in v["testGroups"].as_array().expect("groups") {
            for t in g["tests"].as_array().expect("tests") {
                let r = f(g, t["jws"].as_str().expect("jws"));
                let exp = t["result"].as_str().expect("result");
                let ok = (exp == "valid") == r.is_ok();
                println!(
                    "{} tc{} {} {} => {:?}",
                    if ok { "  " } else { "XX" },
                    t["tcId"],
                    exp,
                    t["comment"],
                    r
                );
            }
        }
    }
}
