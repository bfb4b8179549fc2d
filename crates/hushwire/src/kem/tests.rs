//! The ML-KEM-768 wrapper against Project Wycheproof (`tests/data/wycheproof/`, Apache-2.0):
//! key generation from the seed, decapsulation including implicit rejection, and
//! encapsulation with fixed randomness including the FIPS 203 §7.2 modulus check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;
use serde_json::Value;
use std::{format, string::String, vec::Vec};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/wycheproof/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// A hex field; absent (as in some invalid cases) is empty.
fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or("")).unwrap()
}

fn tests(file: &Value) -> impl Iterator<Item = &Value> {
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|g| assert_eq!(g["parameterSet"], "ML-KEM-768"))
        .flat_map(|g| g["tests"].as_array().unwrap())
}

#[test]
fn wycheproof_keygen_and_decapsulation() {
    let file = load("mlkem_768_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for t in tests(&file) {
        let id = t["tcId"].as_u64().unwrap();
        let (seed, ek, c) = (hex(&t["seed"]), hex(&t["ek"]), hex(&t["c"]));
        // Invalid cases are wrong lengths of seed or ciphertext: our fixed-size types refuse them.
        let (Ok(seed), Ok(c)) = (
            <[u8; SEED_LEN]>::try_from(seed),
            <[u8; CIPHERTEXT_LEN]>::try_from(c),
        ) else {
            assert_eq!(t["result"], "invalid", "tcId {id}");
            invalid += 1;
            continue;
        };
        assert_eq!(t["result"], "valid", "tcId {id}");
        let dk = KemSecret::from_seed(&seed);
        assert_eq!(dk.public_key().to_vec(), ek, "tcId {id}: encapsulation key");
        // Valid and implicitly rejected ciphertexts alike yield the listed key.
        assert_eq!(
            dk.decapsulate(&c).0.to_vec(),
            hex(&t["K"]),
            "tcId {id}: shared key"
        );
        valid += 1;
    }
    assert!(valid > 150 && invalid > 0, "{valid} valid, {invalid} invalid");
}

#[test]
fn wycheproof_encapsulation_with_the_modulus_check() {
    let file = load("mlkem_768_encaps_test.json");
    let (mut valid, mut refused) = (0, 0);
    for t in tests(&file) {
        let id = t["tcId"].as_u64().unwrap();
        let m: [u8; 32] = hex(&t["m"]).try_into().unwrap();
        let Ok(ek) = <[u8; PUBLIC_KEY_LEN]>::try_from(hex(&t["ek"])) else {
            assert_eq!(t["result"], "invalid", "tcId {id}: wrong length");
            continue;
        };
        match encapsulate(&ek, &m) {
            Ok((c, k)) => {
                assert_eq!(t["result"], "valid", "tcId {id}: accepted");
                assert_eq!(c.to_vec(), hex(&t["c"]), "tcId {id}: ciphertext");
                assert_eq!(k.0.to_vec(), hex(&t["K"]), "tcId {id}: shared key");
                valid += 1;
            }
            Err(e) => {
                let flags: String = format!("{}", t["flags"]);
                assert_eq!(t["result"], "invalid", "tcId {id}: refused ({e:?}, {flags})");
                assert_eq!(e, Error::Malformed(DecodeError::InvalidField("kem key")));
                refused += 1;
            }
        }
    }
    assert!(valid > 100 && refused > 10, "{valid} valid, {refused} refused");
}
