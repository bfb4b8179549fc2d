// A consumer app, built by the real Vite (tests/vite.test.mjs): imports the package by name
// and lets Vite emit the .wasm as an asset. Runs both sides of a chat in the page.
import { init, AgentKey, AgentIdentity, VisitorHandshake, HushwireError } from 'hushwire';

const log = (line) => {
  document.getElementById('log').textContent += `${line}\n`;
};

try {
  await init();
  const setup = await (await fetch('/setup.json')).json();
  const unhex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
  const key = AgentKey.fromSecretBytes(unhex(setup.agentSecret));
  const agent = AgentIdentity.create(key, unhex(setup.certificate), setup.orgPublicKey);
  const { handshake, hello } = VisitorHandshake.start(setup.orgPublicKey);
  const { session: agentSide, reply } = agent.accept(hello);
  const visitor = handshake.finish(reply, setup.now);
  log(`agent got: ${agentSide.openText(visitor.sealText('hello through vite'))}`);
  log(`visitor got: ${visitor.openText(agentSide.sealText('hello back'))}`);
  try {
    visitor.open('AAAA');
  } catch (e) {
    log(`garbage -> ${e instanceof HushwireError} ${e.code}`);
  }
  log('vite app done');
} catch (e) {
  log(`ERROR ${e?.code ?? ''} ${e}`);
}
