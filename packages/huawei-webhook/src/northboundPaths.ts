/**
 * Paths of the platform's northbound API outside the upgrade task base: the dispatcher calls
 * them and the stand-in serves them, so they live beside neither.
 */
export const LOGIN_PATH = '/iocm/app/sec/v1.1.0/login';
export const REFRESH_TOKEN_PATH = '/iocm/app/sec/v1.1.0/refreshToken';
export const SUBSCRIBE_PATH = '/iodm/app/sub/v1.1.0/subscribe';
