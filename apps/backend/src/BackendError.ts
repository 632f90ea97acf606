/** Everything the backend itself refuses or fails at carries one of these codes. */
export type BackendErrorCode =
  | 'BAD_CONFIG'
  | 'BAD_MULTIPART'
  | 'UPLOAD_TOO_LARGE'
  | 'ARTIFACT_EXISTS'
  | 'ARTIFACT_NOT_FOUND'
  | 'STORAGE'
  | 'INSPECTOR'
  | 'ROLLOUT_NOT_FOUND'
  | 'ROLLOUT_ILLEGAL_STATE';

export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    readonly code: BackendErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
