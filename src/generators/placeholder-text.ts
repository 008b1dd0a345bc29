/**
 * Filling `{name}`-style placeholders, and cleaning text before it is drawn. Everything here is
 * plain text: nothing is ever interpreted as markup.
 */

/** A filled-in value longer than this is cut, so one query parameter cannot fill the whole box. */
export const MAX_PLACEHOLDER_VALUE_LENGTH = 100;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

// Controls draw as nothing or as boxes and bidi overrides can reorder what is shown; newlines are
// handled by the caller and tabs become spaces.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

// Half of a surrogate pair is not a character; the font layout would choke on it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Line breaks become `\n`, tabs spaces, other control characters go; the result is NFC. */
export function cleanText(text: string): string {
  return text
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROLS, '')
    .normalize('NFC');
}

/** A value for one placeholder: one line, trimmed, at most MAX_PLACEHOLDER_VALUE_LENGTH characters. */
export function cleanPlaceholderValue(value: string): string {
  const oneLine = cleanText(value).replace(/\n/g, ' ').trim();
  return [...oneLine].slice(0, MAX_PLACEHOLDER_VALUE_LENGTH).join('');
}

/**
 * Replaces `{key}` for every key in `known`: with its cleaned value, or with nothing when the value
 * is missing (an anonymous visitor has no `{username}`). Placeholders not in `known` stay as typed,
 * so text that happens to contain braces is not mangled.
 */
export function fillPlaceholders(
  text: string,
  known: readonly string[],
  values: Readonly<Record<string, string | undefined>>,
): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => {
    if (!known.includes(key)) return whole;
    const value = Object.hasOwn(values, key) ? values[key] : undefined;
    return value === undefined ? '' : cleanPlaceholderValue(value);
  });
}
