//! Conversations (docs/PROTOCOL.md §18) against one pairwise session, in the same run:
//! a visitor message sealed once for four organisation devices vs one pairwise seal (target
//! ≤ 4.5×); opening one fanned-out copy vs a pairwise open (target: unchanged); adding a
//! device (roster event, XX handshakes with every organisation member, the visitor's NX
//! handshake, the welcome) vs one pairwise handshake per new connection.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hushwire::conversation::{Conversation, MemberId, Received};
use hushwire::{AgentIdentity, AgentKey, OrgRole, OrgSigningKey, StorageKey, VisitorHandshake};
use hushwire_benches::{plaintext, Fixture, NOW};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

struct World {
    org: OrgSigningKey,
    ids: BTreeMap<MemberId, AgentIdentity>,
    convs: BTreeMap<MemberId, Conversation>,
}

fn identity(org: &OrgSigningKey, n: u8, role: OrgRole) -> AgentIdentity {
    let key = AgentKey::from_secret_bytes(&[n; 32]);
    let cert = org
        .certify(
            &key.public_key(),
            &format!("member-{n}"),
            "dev",
            role,
            NOW - 60,
            NOW + 86_400,
        )
        .expect("certify");
    AgentIdentity::new(key, cert, &org.public_key()).expect("identity")
}

impl World {
    /// The visitor and `devices` organisation devices, all connected.
    fn new(devices: u8) -> World {
        let org = OrgSigningKey::from_secret_bytes(&[5; 32]);
        let first = identity(&org, 1, OrgRole::Bot);
        let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).expect("start");
        let (side, reply) = first.accept(&hello).expect("accept");
        let (conv, welcome) = Conversation::create(&first, side).expect("create");
        let v = Conversation::join_as_visitor(
            &org.public_key(),
            hs.finish_at(&reply, NOW).expect("finish"),
            &welcome.envelope,
        )
        .expect("join");
        let mut w = World {
            org,
            ids: BTreeMap::new(),
            convs: BTreeMap::new(),
        };
        let bot = MemberId::of_certificate(first.certificate());
        w.convs.insert(bot.clone(), conv);
        w.convs.insert(MemberId::visitor(), v);
        w.ids.insert(bot.clone(), first);
        for n in 2..=devices {
            w.add(&bot, n);
        }
        w
    }

    /// `by` invites device `n`; every member connects to it as the roster says.
    fn add(&mut self, by: &MemberId, n: u8) {
        let id = identity(&self.org, n, OrgRole::Agent);
        let new = MemberId::of_certificate(id.certificate());
        let cert = id.certificate().clone();
        for out in self.convs.get_mut(by).expect("by").invite(&cert).expect("invite") {
            let r = self
                .convs
                .get_mut(&out.to)
                .expect("member")
                .open(&out.envelope)
                .expect("event");
            black_box(r);
        }
        let xx = |a: &AgentIdentity, b: &AgentIdentity| {
            let (mut i, m1) = a.start_org_handshake().expect("xx");
            let (mut r, m2) = b.accept_org_handshake(&m1).expect("xx");
            let (sa, m3) = i.finish_at(&m2, NOW).expect("xx");
            (sa, r.finish_at(&m3, NOW).expect("xx"))
        };
        let (sa, sb) = xx(&self.ids[by], &id);
        let by_conv = self.convs.get_mut(by).expect("by");
        by_conv.attach_org(sa).expect("attach");
        let welcome = by_conv.welcome(&cert).expect("welcome");
        let mut conv = Conversation::join_as_org(&id, sb, &welcome.envelope).expect("join");
        let others: Vec<MemberId> = self
            .convs
            .iter()
            .filter(|(m, c)| *m != by && c.members_to_connect().contains(&new))
            .map(|(m, _)| m.clone())
            .collect();
        for m in others {
            if m.is_visitor() {
                let (mut hs, hello) = VisitorHandshake::start(&self.org.public_key()).expect("start");
                let (side, reply) = id.accept(&hello).expect("accept");
                conv.attach_visitor(side).expect("attach");
                let present = self
                    .convs
                    .get_mut(&m)
                    .expect("visitor")
                    .attach_agent(hs.finish_at(&reply, NOW).expect("finish"))
                    .expect("attach");
                conv.open(&present.envelope).expect("present");
            } else {
                let (sa, sb) = xx(&self.ids[&m], &id);
                self.convs
                    .get_mut(&m)
                    .expect("member")
                    .attach_org(sa)
                    .expect("attach");
                conv.attach_org(sb).expect("attach");
            }
        }
        self.convs.insert(new.clone(), conv);
        self.ids.insert(new, id);
    }
}

fn bench(c: &mut Criterion) {
    let fx = Fixture::new();
    let msg = plaintext(256);
    let mut g = c.benchmark_group("conversation");

    let (mut visitor, _agent) = fx.session_pair();
    g.bench_function("pairwise_seal_256B", |b| {
        b.iter(|| black_box(visitor.seal(&msg).expect("seal")))
    });
    // Fresh sessions: the seal bench ran the chain far ahead of the receiver.
    let (mut visitor, mut agent) = fx.session_pair();
    g.bench_function("pairwise_open_256B", |b| {
        b.iter_batched(
            || visitor.seal(&msg).expect("seal"),
            |env| black_box(agent.open(&env).expect("open")),
            BatchSize::SmallInput,
        )
    });

    let mut w = World::new(4);
    let v = MemberId::visitor();
    g.bench_function("visitor_seal_for_4_devices_256B", |b| {
        b.iter(|| black_box(w.convs.get_mut(&v).expect("visitor").seal(&msg).expect("seal")))
    });
    // The machine is shared, so the ratio that matters is measured interleaved: each round
    // times one pairwise seal and one fan-out seal back to back; the ratio of the sums is
    // printed (a criterion row alone would compare different moments of a noisy machine).
    let (mut pv, _pa) = fx.session_pair();
    let mut rounds = (Duration::ZERO, Duration::ZERO);
    g.bench_function("interleaved_fan_out_4_vs_pairwise_seal_256B", |b| {
        b.iter_custom(|iters| {
            let mut fan = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                black_box(pv.seal(&msg).expect("seal"));
                rounds.0 += t.elapsed();
                let t = Instant::now();
                black_box(w.convs.get_mut(&v).expect("visitor").seal(&msg).expect("seal"));
                let d = t.elapsed();
                rounds.1 += d;
                fan += d;
            }
            fan
        })
    });
    eprintln!(
        "conversation: interleaved fan-out to 4 / pairwise seal = {:.2}x",
        rounds.1.as_secs_f64() / rounds.0.as_secs_f64()
    );
    let bot = MemberId::device("member-1", "dev");
    // A fresh world for the same reason.
    let mut w = World::new(4);
    // Setup and routine both need the world, so time the routine by hand (iter_custom).
    g.bench_function("member_open_one_copy_256B", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let outs = w.convs.get_mut(&v).expect("visitor").seal(&msg).expect("seal");
                let env = outs
                    .into_iter()
                    .find(|o| o.to == bot)
                    .expect("copy for the bot")
                    .envelope;
                let conv = w.convs.get_mut(&bot).expect("bot");
                let start = Instant::now();
                let r = conv.open(&env).expect("open");
                total += start.elapsed();
                assert!(matches!(r, Received::Message { .. }));
                black_box(r);
            }
            total
        })
    });

    g.bench_function("pairwise_handshake", |b| b.iter(|| black_box(fx.session_pair())));
    // Adding a fifth device to the visitor and four devices: five new pairwise sessions
    // (four XX, one NX) plus the roster event and the welcome. Each iteration starts from
    // the same four-device conversation restored from an export.
    let key = StorageKey::from_bytes(&[3; 32]);
    let saved: Vec<(MemberId, String)> = w
        .convs
        .iter()
        .map(|(m, c)| (m.clone(), c.export(&key).expect("export")))
        .collect();
    g.bench_function("add_fifth_device_to_4_devices", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for (m, text) in &saved {
                    w.convs
                        .insert(m.clone(), Conversation::import(text, &key).expect("import"));
                }
                let start = Instant::now();
                w.add(&bot, 5);
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
