/**
 * Descriptions are Markdown. Raw HTML in them is shown as text (`html: false`), and markdown-it's
 * link validation drops javascript:, vbscript:, file: and data: (except images) URLs, so the
 * output is safe to insert without a separate sanitiser.
 */
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  // Links written by uploaders must not pass our origin's referrer or window handle along.
  tokens[idx]!.attrSet('rel', 'nofollow noopener noreferrer');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(text: string): string {
  return md.render(text);
}
