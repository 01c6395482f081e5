// React's hooks as the snippets import them, from the harness's globals
// (recorders.js): effects run at once, refs are plain objects, callbacks are
// the functions themselves.
export const { useEffect, useRef, useCallback, useState } = window;
