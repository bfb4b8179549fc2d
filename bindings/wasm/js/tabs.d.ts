/**
 * `hushwire/tabs`: one tab of an origin owns a session at a time (Web Locks), the others send
 * and receive through it (BroadcastChannel); when the owner's tab goes away the next tab takes
 * over. See the package README, "Several tabs".
 */

/** A tab's membership in the group coordinating one session. */
export interface TabGroup {
  /** Whether this tab owns the session now (it alone may import, seal and open). */
  readonly isOwner: boolean;
  /**
   * How ownership is decided: `'locks'` (Web Locks: never two owners), `'election'` (no Web
   * Locks: best effort over BroadcastChannel) or `'alone'` (neither: every tab owns itself).
   */
  readonly mode: 'locks' | 'election' | 'alone';
  /**
   * Send `message` (structured-cloneable) to the owner's `onRequest` (this tab's own if it is
   * the owner) and resolve with its result; rejects with an `Error` carrying the thrown
   * error's `code`. A request the owner had not answered when it went away is retried with
   * the next owner under the same id.
   */
  request<T = unknown>(message: unknown): Promise<T>;
  /** From the owner: deliver `message` to every other tab's `onBroadcast`. No-op in other tabs. */
  broadcast(message: unknown): void;
  /** Leave: give up ownership (the next tab takes over) and stop listening. */
  close(): void;
}

/** What {@link coordinateTabs} calls. */
export interface TabHandlers {
  /**
   * Runs in the owner for every request of every tab. `id` is the same when a request is
   * retried with a new owner: keep the ids you handled with your saved state to skip repeats.
   */
  onRequest(message: any, id: string): unknown | Promise<unknown>;
  /** Runs in every tab but the owner for each {@link TabGroup.broadcast}. */
  onBroadcast?(message: any): void;
  /** Runs once, when this tab becomes the owner. */
  onOwner?(): void;
}

/**
 * Join the tabs coordinating `name` (one name per session or per store). Throws
 * `HushwireError` `INVALID_ARGUMENT` without a name or `onRequest`.
 */
export function coordinateTabs(name: string, handlers: TabHandlers): TabGroup;
