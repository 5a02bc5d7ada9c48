// What chat text and display names may contain. Untrusted strings are judged here, in one place.

/** Length in user-visible code points, not UTF-16 units, so emoji count once. */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    // a high surrogate followed by a low one is a single character
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

// Names: no control, format (bidi overrides, zero-width), line or paragraph separator characters.
const NAME_CHARS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
// Characters that draw nothing: blanks, marks on their own (combining marks, variation selectors),
// Hangul fillers, the braille blank. A name needs at least one character outside these to be seen.
const INVISIBLE = /[\p{White_Space}\p{M}\u115F\u1160\u3164\uFFA0\u2800]/gu;
// Chat text may span lines and carry emoji sequences (ZWJ, variation selectors: format characters),
// but no other control characters and no bidi overrides or isolates, which reorder what others see.
const TEXT_FORBIDDEN = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;
const LINE_BREAKS = /\r\n?/g;
const TEXT_CONTROL_OK = /[\n\t]/g;

/** A display name: at most `max` code points, well-formed UTF-16, no invisible-only or reordering tricks. */
export function isValidName(name: string, max: number): boolean {
  return name.isWellFormed() && NAME_CHARS.test(name) && name.replace(INVISIBLE, '') !== '' && codePoints(name) <= max;
}

/** Chat text with its line breaks as LF (CRLF and lone CR, as pasted from any system, become LF). */
export function normaliseText(text: string): string {
  return text.replace(LINE_BREAKS, '\n');
}

/** Chat text (already normalised): non-empty, at most `max` code points, well-formed, no control characters but LF and tab. */
export function isValidText(text: string, max: number): boolean {
  return text.length > 0 && text.isWellFormed() && codePoints(text) <= max && !TEXT_FORBIDDEN.test(text.replace(TEXT_CONTROL_OK, ' '));
}

const CONTROL = /\p{Cc}/u;

/** A user id (a token's `sub`, a server API path segment): 1 to `max` UTF-16 units, no control characters. */
export function isValidSub(sub: string, max: number): boolean {
  return sub !== '' && sub.length <= max && !CONTROL.test(sub);
}
