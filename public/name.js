// @ts-check
// The display name in anonymous mode: a field the user fills before or while connected. The
// library takes it on every connect and renames the open socket (`client.rename`); with a token
// the token's name is the user's, so the field is hidden.
import { NAME_MAX } from './protocol.js';

/**
 * @param {{ form: HTMLFormElement, input: HTMLInputElement, hidden: boolean, rename: (name: string) => void }} parts
 * @returns {() => string | undefined} the name chosen, if any
 */
export function nameField({ form, input, hidden, rename }) {
  form.hidden = hidden;
  input.maxLength = NAME_MAX;
  input.title = `1–${NAME_MAX} characters, at least one visible; no control or direction-changing characters`;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (name) rename(name);
  });
  return () => input.value.trim() || undefined;
}
