// A minimal user agent for driving an OpenID Provider's front channel without a browser:
// fetch with manual redirects, a cookie jar, and a form filler that finds the inputs labelled
// "Username" and "Password" and keeps every hidden field (the CSRF token among them).
//
// Used by rp.mjs (the openid-client interop peer) and bench-flows.mjs (the load driver), against
// both `stepauth serve` and node's oidc-provider (bench-op.mjs).

const MAX_HOPS = 20;

export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }

  /** Store every Set-Cookie of a response; an expired or Max-Age=0 cookie is removed. */
  update(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((attr) => {
        const [key, val = ''] = attr.split('=');
        const k = key.trim().toLowerCase();
        if (k === 'max-age') return Number(val) <= 0;
        if (k === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  toJSON() {
    return Object.fromEntries(this.cookies);
  }

  static fromJSON(data) {
    const jar = new CookieJar();
    for (const [k, v] of Object.entries(data ?? {})) jar.cookies.set(k, v);
    return jar;
  }
}

const decodeEntities = (s) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const attr = (tag, name) => {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3]) : undefined;
};

const stripTags = (s) => decodeEntities(s.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();

/**
 * Find the sign-in form in an HTML page: the <form> that holds a password input (or an input
 * labelled Password). Returns {action, method, fields, usernameName, passwordName} or null.
 */
export function parseLoginForm(html, pageUrl) {
  for (const formMatch of html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)) {
    const formHtml = formMatch[0];
    const formTag = formHtml.match(/<form\b[^>]*>/i)[0];
    const labels = new Map(); // input id -> label text
    for (const m of formHtml.matchAll(/<label\b([^>]*)>([\s\S]*?)<\/label>/gi)) {
      const target = attr(`<label${m[1]}>`, 'for');
      if (target) labels.set(target, stripTags(m[2]));
      // <label>Username <input name=…></label>
      const inner = m[2].match(/<input\b[^>]*>/i);
      if (inner) {
        const innerId = attr(inner[0], 'id') ?? `name:${attr(inner[0], 'name')}`;
        labels.set(innerId, stripTags(m[2]));
      }
    }
    const fields = new URLSearchParams();
    let usernameName;
    let passwordName;
    for (const m of formHtml.matchAll(/<input\b[^>]*>/gi)) {
      const tag = m[0];
      const name = attr(tag, 'name');
      if (!name) continue;
      const type = (attr(tag, 'type') ?? 'text').toLowerCase();
      const id = attr(tag, 'id');
      const label = (labels.get(id) ?? labels.get(`name:${name}`) ?? attr(tag, 'aria-label') ?? '')
        .toLowerCase();
      if (type === 'password' || label === 'password') passwordName ??= name;
      else if (label === 'username' || attr(tag, 'autocomplete') === 'username') usernameName ??= name;
      else if (type === 'hidden') fields.set(name, attr(tag, 'value') ?? '');
      else if ((type === 'text' || type === 'email') && !usernameName) usernameName = name;
    }
    // A named submit button ("Continue") is part of what the browser would send.
    for (const m of formHtml.matchAll(/<button\b[^>]*>/gi)) {
      const name = attr(m[0], 'name');
      const type = (attr(m[0], 'type') ?? 'submit').toLowerCase();
      if (name && type === 'submit') {
        fields.set(name, attr(m[0], 'value') ?? '');
        break;
      }
    }
    if (!passwordName) continue;
    return {
      action: new URL(attr(formTag, 'action') ?? pageUrl, pageUrl).href,
      method: (attr(formTag, 'method') ?? 'get').toUpperCase(),
      fields,
      usernameName,
      passwordName,
    };
  }
  return null;
}

/** Visible error text of a page (role=alert or class*=error), for failure reasons. */
export function pageErrors(html) {
  const found = [];
  for (const m of html.matchAll(/<(\w+)\b[^>]*(?:role="alert"|class="[^"]*error[^"]*")[^>]*>([\s\S]*?)<\/\1>/gi)) {
    const text = stripTags(m[2]);
    if (text) found.push(text);
  }
  return found.join(' | ');
}

export class UserAgentError extends Error {}

/**
 * Follow the provider from `startUrl` until it redirects to `redirectUri` (the callback URL
 * is returned, never fetched). Redirects are followed with the cookies of `jar`; any other
 * page goes to `answer(html, url, response)`, which returns the next request as
 * `{ url, method, body }` or throws. `log` collects the hops for failure reports.
 */
export async function browse(startUrl, { redirectUri, jar, log = [], answer }) {
  let url = startUrl;
  let method = 'GET';
  let body;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    if (url.startsWith(redirectUri)) return url;
    const headers = { accept: 'text/html' };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    jar.update(response);
    log.push(`${method} ${url} -> ${response.status}`);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.arrayBuffer();
      url = new URL(location, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    ({ url, method, body } = answer(await response.text(), url, response));
  }
  throw new UserAgentError(`more than ${MAX_HOPS} hops without reaching ${redirectUri}`);
}

/**
 * Act as the browser from `startUrl` until the provider redirects to `redirectUri`: follow
 * redirects, sign in once with `username`/`password` when a sign-in form appears, and return
 * the callback URL (never fetched). `log` collects the hops for failure reports.
 */
export async function browseToCallback(startUrl, { redirectUri, username, password, jar, log = [] }) {
  let signedIn = false;
  const answer = (html, url, response) => {
    const autoPost = html.match(/<form\b[^>]*method="post"[^>]*>/i);
    if (autoPost && attr(autoPost[0], 'action')?.startsWith(redirectUri)) {
      throw new UserAgentError(`response_mode=form_post is not handled by this user agent`);
    }
    const form = response.ok ? parseLoginForm(html, url) : null;
    if (!form) {
      throw new UserAgentError(
        `expected a redirect or a sign-in form at ${url}, got HTTP ${response.status}: ` +
          (pageErrors(html) || stripTags(html).slice(0, 300)),
      );
    }
    if (signedIn) {
      throw new UserAgentError(
        `sign-in form shown again after submitting it: ${pageErrors(html) || '(no error text)'}`,
      );
    }
    if (!form.usernameName) throw new UserAgentError(`no input labelled Username at ${url}`);
    form.fields.set(form.usernameName, username);
    form.fields.set(form.passwordName, password);
    signedIn = true;
    if (form.method === 'POST') {
      return { url: form.action, method: 'POST', body: form.fields.toString() };
    }
    const next = new URL(form.action);
    for (const [k, v] of form.fields) next.searchParams.set(k, v);
    return { url: next.href, method: 'GET', body: undefined };
  };
  return browse(startUrl, { redirectUri, jar, log, answer });
}
