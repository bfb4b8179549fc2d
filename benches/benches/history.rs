//! Out-of-order delivery and persistence: 10,000 messages opened in reverse order; import of
//! an exported session (next to vodozemac's encrypted Olm session pickle).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hushwire::{Session, StorageKey};
use hushwire_benches::{plaintext, Fixture};
use std::hint::black_box;

const COUNT: u32 = 10_000;

fn bench(c: &mut Criterion) {
    let fx = Fixture::new();
    let msg = plaintext(64);
    let mut g = c.benchmark_group("history");
    g.sample_size(10);
    g.bench_function("reverse_10000", |b| {
        b.iter_batched(
            || {
                let (mut visitor, agent) = fx.session_pair_with_window(COUNT);
                let envelopes: Vec<_> = (0..COUNT).map(|_| visitor.seal(&msg).unwrap()).collect();
                (agent, envelopes)
            },
            |(mut agent, envelopes)| {
                for env in envelopes.iter().rev() {
                    black_box(agent.open(env).unwrap());
                }
                agent
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("import");
    let storage_key = StorageKey::from_bytes(&[3u8; 32]);
    let (mut visitor, mut agent) = fx.session_pair();
    for _ in 0..10 {
        agent.open(&visitor.seal(&msg).unwrap()).unwrap();
        visitor.open(&agent.seal(&msg).unwrap()).unwrap();
    }
    let exported = agent.export(&storage_key).unwrap();
    g.bench_function("hushwire", |b| {
        b.iter(|| black_box(Session::import(&exported, &storage_key).unwrap()))
    });

    // The same session with 1000 skipped keys stored (the default window, full).
    let (mut visitor, mut agent) = fx.session_pair();
    let late: Vec<_> = (0..1000).map(|_| visitor.seal(&msg).unwrap()).collect();
    agent.open(&visitor.seal(&msg).unwrap()).unwrap();
    drop(late);
    let exported_1000 = agent.export(&storage_key).unwrap();
    g.bench_function("hushwire_1000_skipped", |b| {
        b.iter(|| black_box(Session::import(&exported_1000, &storage_key).unwrap()))
    });

    // vodozemac: an established Olm session pickled and encrypted under a 32-byte key.
    let alice = vodozemac::olm::Account::new();
    let mut bob = vodozemac::olm::Account::new();
    bob.generate_one_time_keys(1);
    let otk = *bob.one_time_keys().values().next().unwrap();
    let config = vodozemac::olm::SessionConfig::version_1();
    let mut a = alice
        .create_outbound_session(config, bob.curve25519_key(), otk)
        .unwrap();
    let vodozemac::olm::OlmMessage::PreKey(m) = a.encrypt(&msg).unwrap() else {
        panic!("pre-key")
    };
    let mut b_session = bob
        .create_inbound_session(config, alice.curve25519_key(), &m)
        .unwrap()
        .session;
    a.decrypt(&b_session.encrypt(&msg).unwrap()).unwrap();
    let pickle = b_session.pickle().encrypt(&[3u8; 32]);
    g.bench_function("vodozemac_olm", |b| {
        b.iter(|| {
            let p = vodozemac::olm::SessionPickle::from_encrypted(&pickle, &[3u8; 32]).unwrap();
            black_box(vodozemac::olm::Session::from_pickle(p))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
