// Types for sns-validator 0.3.x (AWS's SNS message validator, plain JS).
declare module 'sns-validator' {
  class MessageValidator {
    /** hostPattern is tested against the SigningCertURL's host (with :port when it has one). */
    constructor(hostPattern?: RegExp, encoding?: BufferEncoding);
    validate(message: Record<string, unknown> | string, cb: (err: Error | null, message?: Record<string, unknown>) => void): void;
  }
  export default MessageValidator;
}
