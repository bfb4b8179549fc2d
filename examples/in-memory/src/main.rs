//! A visitor and an agent talk through an in-memory relay that prints only what it carries.
//!
//! Run with `cargo run -p hushwire-example-in-memory`. Everything the relay prints is what a
//! real relay would see and store: routing headers and ciphertext, never the chat text.

use std::collections::VecDeque;

use hushwire::{AgentIdentity, AgentKey, Envelope, OrgSigningKey, Session, StorageKey, VisitorHandshake};

/// What the relay carries: opaque frames addressed to one side.
enum Frame {
    Hello(Vec<u8>),
    Reply(Vec<u8>),
    Message(Vec<u8>),
}

/// A store-and-forward relay that, like a real one, can only look at bytes.
#[derive(Default)]
struct Relay {
    to_agent: VecDeque<Frame>,
    to_visitor: VecDeque<Frame>,
    stored: usize,
}

impl Relay {
    fn carry(&mut self, to_agent: bool, frame: Frame) {
        let (kind, bytes) = match &frame {
            Frame::Hello(b) => ("hello", b),
            Frame::Reply(b) => ("reply", b),
            Frame::Message(b) => ("message", b),
        };
        let shown: String = bytes.iter().take(24).map(|b| format!("{b:02x}")).collect();
        println!(
            "  relay ▸ {:<7} {:>4} bytes to {:<7} {}…",
            kind,
            bytes.len(),
            if to_agent { "agent" } else { "visitor" },
            shown
        );
        self.stored += bytes.len();
        if to_agent {
            self.to_agent.push_back(frame);
        } else {
            self.to_visitor.push_back(frame);
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn main() -> Result<(), hushwire::Error> {
    println!("1. The organisation certifies an agent's device (once, offline).");
    let org = OrgSigningKey::generate()?;
    let device = AgentKey::generate()?;
    let cert = org.certify_agent(
        &device.public_key(),
        "alice@shop.example",
        "console-1",
        now(),
        now() + 86_400,
    )?;
    let agent = AgentIdentity::new(device, cert, &org.public_key())?;
    println!("   organisation key pinned in the widget: {}", org.public_key());

    let mut relay = Relay::default();

    println!("\n2. The visitor opens the widget and says hello.");
    let (mut handshake, hello) = VisitorHandshake::start(&org.public_key())?;
    relay.carry(true, Frame::Hello(hello.to_bytes()));

    println!("\n3. The agent picks the conversation up.");
    let Some(Frame::Hello(bytes)) = relay.to_agent.pop_front() else {
        unreachable!("hello was queued")
    };
    let (mut agent_session, reply) = agent.accept(&hushwire::Hello::from_bytes(&bytes)?)?;
    relay.carry(false, Frame::Reply(reply.to_bytes()));

    println!("\n4. The visitor checks the agent's certificate and finishes the handshake.");
    let Some(Frame::Reply(bytes)) = relay.to_visitor.pop_front() else {
        unreachable!("reply was queued")
    };
    let mut visitor_session = handshake.finish(&hushwire::Reply::from_bytes(&bytes)?)?;
    println!(
        "   visitor talks to: {} ({})",
        visitor_session.agent_id(),
        visitor_session.device_id()
    );
    println!("   safety code (visitor): {}", visitor_session.safety_code());
    println!("   safety code (agent):   {}", agent_session.safety_code());

    println!("\n5. They chat; the relay sees only ciphertext.");
    let script: [(bool, &str); 4] = [
        (true, "Hi! My order #1234 arrived damaged."),
        (false, "Sorry to hear that. Could you send a photo?"),
        (true, "Sure, and my card ends in 4242 if you refund."),
        (false, "Refund issued. Anything else?"),
    ];
    for (from_visitor, text) in script {
        let (sender, to_agent) = if from_visitor {
            (&mut visitor_session, true)
        } else {
            (&mut agent_session, false)
        };
        let envelope = sender.seal(text.as_bytes())?;
        relay.carry(to_agent, Frame::Message(envelope.to_bytes()));
        let queue = if to_agent {
            &mut relay.to_agent
        } else {
            &mut relay.to_visitor
        };
        let Some(Frame::Message(bytes)) = queue.pop_front() else {
            unreachable!("message was queued")
        };
        let receiver: &mut Session = if to_agent {
            &mut agent_session
        } else {
            &mut visitor_session
        };
        let plaintext = receiver.open(&Envelope::from_bytes(&bytes)?)?;
        println!(
            "   {} reads: {}",
            if to_agent { "agent  " } else { "visitor" },
            String::from_utf8_lossy(&plaintext)
        );
    }

    println!("\n6. A malicious relay replays and alters messages; both are refused.");
    let envelope = visitor_session.seal(b"Thanks!")?;
    println!(
        "   first delivery: {}",
        String::from_utf8_lossy(&agent_session.open(&envelope)?)
    );
    match agent_session.open(&envelope) {
        Err(e) => println!("   replayed copy: refused ({})", e.code()),
        Ok(_) => unreachable!("replay accepted"),
    }
    let mut altered = visitor_session.seal(b"Bye")?.to_bytes();
    let last = altered.len() - 1;
    altered[last] ^= 0x01;
    match agent_session.open(&Envelope::from_bytes(&altered)?) {
        Err(e) => println!("   altered copy:  refused ({})", e.code()),
        Ok(_) => unreachable!("tampering accepted"),
    }

    println!("\n7. The visitor reloads the page: the session is sealed for storage and restored.");
    let storage_key = StorageKey::generate()?;
    let saved = visitor_session.export(&storage_key)?;
    println!("   stored export: {} chars of ciphertext", saved.len());
    let mut visitor_session = Session::import(&saved, &storage_key)?;
    let envelope = agent_session.seal(b"Welcome back!")?;
    println!(
        "   after reload the visitor reads: {}",
        String::from_utf8_lossy(&visitor_session.open(&envelope)?)
    );

    println!(
        "\nThe relay carried {} bytes and could read none of the chat.",
        relay.stored
    );
    Ok(())
}
