// Type-checked by test.sh (`tsc --strict --noEmit -p tests/types`) against the built package,
// imported by name as an application would: every export of index.d.ts is used once with
// the types an application would write, and misuse that the types must reject is marked with
// an expect-error directive (tsc fails if such a line stops being an error). Never executed.
import {
  AgentIdentity,
  AgentKey,
  HushwireError,
  Session,
  VisitorHandshake,
  createStorageKeyVault,
  generateStorageKey,
  init,
  isInitialized,
  backend,
  type HushwireErrorCode,
  type InitInput,
  type StorageKeyVault,
} from 'hushwire';

export async function visitorSide(orgPublicKey: string, send: (text: string) => void, receive: () => Promise<string>): Promise<string> {
  const input: InitInput = new URL('https://cdn.example/hushwire_bg.wasm');
  await init(input);
  await init(Promise.resolve(new Uint8Array(8) as BufferSource));
  await init();
  const ready: boolean = isInitialized();
  const which: 'wasm' | 'javascript' | null = backend();
  if (!ready || which === null) throw new Error('not initialised');

  const { handshake, hello }: { handshake: VisitorHandshake; hello: string } = VisitorHandshake.start(orgPublicKey);
  const pending: string = handshake.sessionId;
  send(hello);
  const session: Session = handshake.finish(await receive());
  handshake.finish(new Uint8Array(0), 1_800_000_000);
  handshake.finish('reply', 1_800_000_000n);
  handshake.free();
  handshake[Symbol.dispose]();

  const envelope: Uint8Array = session.seal(new Uint8Array([1, 2, 3]));
  const text: string = session.sealText('hello');
  const plain: Uint8Array = session.open(envelope);
  const fromText: string = session.openText(text);
  const alsoBytes: string = session.openText(envelope);
  const role: 'visitor' | 'agent' = session.role;
  const ids: string[] = [session.safetyCode, session.sessionId, session.agentId, session.deviceId, pending];
  session.setConfig({ maxSkip: 100, maxStoredSkipped: 200 });
  session.setConfig({ maxSkip: session.config.maxSkip + 1 });
  // @ts-expect-error the current limits are read-only
  session.config.maxSkip = 3;

  const vault: StorageKeyVault = await createStorageKeyVault();
  await createStorageKeyVault({ databaseName: 'db', storeName: 'keys', keyName: 'k' });
  const maybe: Uint8Array | null = await vault.get();
  const storageKey: Uint8Array = maybe ?? (await vault.getOrCreate());
  const saved: string = session.exportState(storageKey);
  const restored: Session = Session.importState(saved, storageKey);
  await vault.delete();
  vault.close();
  const fresh: Uint8Array = generateStorageKey();
  fresh.fill(0);
  restored.free();
  {
    using scoped = Session.importState(saved, storageKey);
    scoped.sealText('disposed at the end of the block');
  }

  // @ts-expect-error: the constructors are private (use the static factories)
  new Session();
  // @ts-expect-error: seal takes bytes; sealText takes strings
  session.seal('text');
  // @ts-expect-error: role is read-only
  session.role = 'agent';
  // @ts-expect-error: exports are text
  Session.importState(new Uint8Array(4), storageKey);
  return [fromText, alsoBytes, role, ...ids, String(plain.length)].join();
}

export function agentSide(secret: Uint8Array, certificate: Uint8Array, orgPublicKey: string, hello: string): string {
  const generated: AgentKey = AgentKey.generate();
  const publicKey: Uint8Array = generated.publicKey;
  const secretCopy: Uint8Array = generated.secretBytes();
  generated.free();
  secretCopy.fill(0);
  const key = AgentKey.fromSecretBytes(secret);
  const identity: AgentIdentity = AgentIdentity.create(key, certificate, orgPublicKey);
  AgentIdentity.create(key, 'certificate-text', new Uint8Array(32));
  key[Symbol.dispose]();
  const { session, reply }: { session: Session; reply: string } = identity.accept(hello);
  identity.accept(new Uint8Array(0));
  const names: string = identity.agentId + identity.deviceId;
  const saved: string = identity.exportState(generateStorageKey());
  const again: AgentIdentity = AgentIdentity.importState(saved, generateStorageKey());
  again.free();
  session.free();
  identity.free();
  // @ts-expect-error: publicKey is read-only
  generated.publicKey = publicKey;
  return reply + names + publicKey.length;
}

export function handle(e: unknown): HushwireErrorCode | null {
  if (!(e instanceof HushwireError)) return null;
  const name: 'HushwireError' = e.name;
  const code: HushwireErrorCode = e.code;
  switch (code) {
    case 'STORAGE_UNAVAILABLE':
    case 'INSTANCE_POISONED':
    case 'NOT_INITIALIZED':
    case 'OBJECT_FREED':
    case 'INIT_FAILED':
    case 'TAMPERED':
      return code;
    default:
      // @ts-expect-error: not a code
      if (code === 'NO_SUCH_CODE') return null;
      return name === 'HushwireError' ? code : null;
  }
}

export const constructed: HushwireError = new HushwireError('MALFORMED', 'message', { cause: new Error('x') });

// hushwire/tabs: several tabs, one session.
import { coordinateTabs, type TabGroup } from 'hushwire/tabs';
export async function tabsSide(): Promise<string> {
  const group: TabGroup = coordinateTabs('chat', {
    onRequest: (message: { text: string }, id: string) => `${id}: ${message.text}`,
    onBroadcast: () => {},
  });
  const mode: 'locks' | 'election' | 'alone' = group.mode;
  group.broadcast({ changed: true });
  const reply = await group.request<string>({ text: 'hi' });
  // @ts-expect-error onRequest is required
  coordinateTabs('chat', {});
  group.close();
  return reply + mode + String(group.isOwner);
}
