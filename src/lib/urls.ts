/** An absolute http:// or https:// URL with no user name or password in it. */
export function isHttpUrlWithoutCredentials(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
  } catch {
    return false;
  }
}
