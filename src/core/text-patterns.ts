/**
 * Which characters a text field may hold, as regular expressions rather than refinements, so that the
 * OpenAPI document states them (`pattern`) and a client can know in advance what the server refuses.
 */

/**
 * Names, labels, keys and other single-line text: no C0 control characters and no DEL. They break logs,
 * headers and URLs, and the database cannot store NUL at all.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const singleLinePattern = /^[^\u0000-\u001f\u007f]*$/;

/** Free text that may hold line breaks and tabs, but no NUL, which the database cannot store. */
// eslint-disable-next-line no-control-regex -- matching NUL is the point
export const withoutNulPattern = /^[^\u0000]*$/;
