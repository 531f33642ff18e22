/** The relay's version, sent as `user-agent: green-relay/<version>`; a test keeps it equal to package.json's. */
export const VERSION = '0.1.0';

/** Every delivery's `user-agent` (contract §4). */
export const USER_AGENT = `green-relay/${VERSION}`;
