//! API hygiene (issue #10): conversions the bindings need live in the core, configurations
//! are validated at construction, `Role` is exhaustive.

use hushwire::{
    AgentCertificate, AgentIdentity, AgentKey, DecodeError, Envelope, Error, Hello, OrgPublicKey,
    OrgSigningKey, Reply, Role, SessionConfig, StorageKey, VisitorHandshake, MAX_SKIP_LIMIT,
    MAX_STORED_SKIPPED_LIMIT,
};

const NOW: u64 = 1_800_000_000;

#[test]
fn session_config_new_validates() {
    let c = SessionConfig::new(10, 20).unwrap();
    assert_eq!((c.max_skip, c.max_stored_skipped), (10, 20));
    assert!(SessionConfig::new(MAX_SKIP_LIMIT, MAX_STORED_SKIPPED_LIMIT).is_ok());
    assert_eq!(
        SessionConfig::new(MAX_SKIP_LIMIT + 1, 0),
        Err(Error::InvalidArgument("max_skip"))
    );
    assert_eq!(
        SessionConfig::new(1, MAX_STORED_SKIPPED_LIMIT + 1),
        Err(Error::InvalidArgument("max_stored_skipped"))
    );
}

#[test]
fn try_from_slices_matches_from_bytes() {
    let org = OrgSigningKey::generate().unwrap();
    let device = AgentKey::generate().unwrap();
    let cert = org
        .certify_agent(&device.public_key(), "a", "d", NOW - 1, NOW + 1)
        .unwrap();
    let agent = AgentIdentity::new(device, cert.clone(), &org.public_key()).unwrap();
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (mut agent_session, reply) = agent.accept(&hello).unwrap();
    let _visitor = hs.finish_at(&reply, NOW).unwrap();
    let envelope = agent_session.seal(b"hi").unwrap();

    assert_eq!(Hello::try_from(&hello.to_bytes()[..]).unwrap(), hello);
    assert_eq!(Reply::try_from(&reply.to_bytes()[..]).unwrap(), reply);
    assert_eq!(Envelope::try_from(envelope.as_bytes()).unwrap(), envelope);
    assert_eq!(AgentCertificate::try_from(&cert.to_bytes()[..]).unwrap(), cert);
    let org_bytes = org.public_key().to_bytes();
    assert_eq!(OrgPublicKey::try_from(&org_bytes[..]).unwrap(), org.public_key());
    // Errors are the decoder's.
    assert_eq!(
        Envelope::try_from(&envelope.as_bytes()[..10]),
        Envelope::from_bytes(&envelope.as_bytes()[..10])
    );
    assert!(Hello::try_from(&[1u8, 2, 3][..]).is_err());
}

#[test]
fn storage_key_from_a_slice_needs_exactly_32_bytes() {
    let key = StorageKey::try_from(&[7u8; 32][..]).unwrap();
    assert_eq!(*key.to_bytes(), [7u8; 32]);
    assert_eq!(
        StorageKey::try_from(&[7u8; 31][..]).err(),
        Some(Error::Malformed(DecodeError::TooShort))
    );
    assert_eq!(
        StorageKey::try_from(&[7u8; 33][..]).err(),
        Some(Error::Malformed(DecodeError::TooLong))
    );
}

#[test]
fn role_is_exhaustive() {
    // No catch-all arm: this stops compiling if `Role` gains a variant or `#[non_exhaustive]`.
    fn byte(role: Role) -> u8 {
        match role {
            Role::Visitor => 1,
            Role::Agent => 2,
        }
    }
    assert_eq!((byte(Role::Visitor), byte(Role::Visitor.peer())), (1, 2));
}
