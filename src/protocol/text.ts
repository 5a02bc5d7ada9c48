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

// Printable: no control, format, line or paragraph separator characters; not only blanks.
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
// Chat text may span lines, but carries no other control characters.
const TEXT_CHARS = /^[^\p{Cc}\p{Zl}\p{Zp}]*$/u;
const TEXT_CONTROL_OK = /[\n\t]/g;

export function isValidName(name: string, max: number): boolean {
  return PRINTABLE.test(name) && name.trim() !== '' && codePoints(name) <= max;
}

export function isValidText(text: string, max: number): boolean {
  return text.length > 0 && codePoints(text) <= max && TEXT_CHARS.test(text.replace(TEXT_CONTROL_OK, ' '));
}
