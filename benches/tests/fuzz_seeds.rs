//! Replays the committed fuzz seeds (`fuzz/seeds/<target>/`) through the fuzz targets' own
//! bodies on stable Rust, so `cargo test` checks every seed against the targets' assertions.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/common/targets.rs"]
mod targets;

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

fn replay(name: &str) {
    let (_, run) = targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("target exists");
    let dir = seeds_dir().join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds for {name}");
    for file in &files {
        let data = std::fs::read(file).expect("read seed");
        let result = std::panic::catch_unwind(|| run(&data));
        assert!(result.is_ok(), "{name}: seed {} failed", file.display());
    }
    println!("{name}: {} seeds replayed", files.len());
}

#[test]
fn every_target_has_seeds() {
    for (name, _) in targets::TARGETS {
        assert!(seeds_dir().join(name).is_dir(), "fuzz/seeds/{name} missing");
    }
}

macro_rules! seed_tests {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            replay(stringify!($name));
        }
    )*};
}

seed_tests!(
    envelope,
    envelope_text,
    hello,
    reply,
    certificate,
    session_import,
    agent_identity_import,
    relay,
    attachment,
    relay_v2,
    conversation
);

/// The seeds reach deep: the vectors' late envelope opens, the session and identity exports
/// import, and the vectors' hello is accepted.
#[test]
fn seeds_are_valid_inputs() {
    let v = targets::vectors();
    let read = |target: &str, file: &str| std::fs::read(seeds_dir().join(target).join(file)).expect(file);
    let late = hushwire::Envelope::from_bytes(&read("envelope", "late_envelope")).unwrap();
    let mut session = hushwire::Session::import(&v.export, &v.storage_key).unwrap();
    assert_eq!(session.open(&late).unwrap(), v.late_plaintext);
    let export = read("session_import", "export");
    assert!(hushwire::Session::import(std::str::from_utf8(&export[1..]).unwrap(), &v.storage_key).is_ok());
    let identity = read("agent_identity_import", "identity");
    assert!(hushwire::AgentIdentity::import(std::str::from_utf8(&identity).unwrap(), &v.storage_key).is_ok());
    let hello = hushwire::Hello::from_bytes(&read("hello", "vector_hello")).unwrap();
    assert!(v.agent.accept(&hello).is_ok());
}

/// The relay seeds reach every verdict: accepted, originals refused by the receiver's rules
/// (replay, too far ahead), reflected, and altered or injected bytes refused.
#[test]
fn relay_seeds_reach_every_outcome() {
    let mut total = targets::RelayStats::default();
    for entry in std::fs::read_dir(seeds_dir().join("relay")).expect("relay seeds") {
        let stats = targets::relay(&std::fs::read(entry.expect("entry").path()).expect("read"));
        total.accepted += stats.accepted;
        total.refused_originals += stats.refused_originals;
        total.refused_reflected += stats.refused_reflected;
        total.refused_forgeries += stats.refused_forgeries;
    }
    assert!(total.accepted > 0, "{total:?}");
    assert!(total.refused_originals > 0, "{total:?}");
    assert!(total.refused_reflected > 0, "{total:?}");
    assert!(total.refused_forgeries > 0, "{total:?}");
    println!("{total:?}");
}
