// The error type of every failure in the package (its own file so that every module of the
// wrapper can throw it without importing core.js).

/** The error type of every failure; `code` is stable (see README.md). */
export class HushwireError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'HushwireError';
    this.code = code;
  }
}
