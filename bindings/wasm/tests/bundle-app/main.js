// The app every bundler recipe builds (tests/bundlers.test.mjs): imports the package by name,
// loads it without arguments, and runs a handshake and a message each way in the page.
import { init, AgentKey, AgentIdentity, VisitorHandshake, backend } from 'hushwire';

const out = (text) => {
  document.getElementById('out').textContent = text;
};
try {
  await init();
  const setup = await (await fetch('/setup')).json();
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const key = AgentKey.fromSecretBytes(b64(setup.agentSecret));
  const agent = AgentIdentity.create(key, b64(setup.certificate), setup.orgPublicKey);
  key.free();
  const { handshake, hello } = VisitorHandshake.start(setup.orgPublicKey);
  const { session, reply } = agent.accept(hello);
  const visitor = handshake.finish(reply);
  out(`ok ${backend()} ${session.openText(visitor.sealText('to agent'))} ${visitor.openText(session.sealText('to visitor'))}`);
} catch (e) {
  out(`ERROR ${e.code} ${e.message}`);
}
