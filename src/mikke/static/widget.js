/* mikke search widget: turns #mikke-search / .mikke-search into a search box. */
(() => {
  'use strict';
  if (window.Mikke) return; // loaded twice (e.g. the include used twice)

  const DEBOUNCE_MS = 200;
  let instances = 0;

  // Small element helper; text always goes in via textContent.
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  };

  // Only http(s) or relative URLs become links (no javascript:, data:, ...).
  const safeUrl = (url) => {
    if (typeof url !== 'string' || !url) return null;
    try {
      return /^https?:$/.test(new URL(url, 'http://x/').protocol) ? url : null;
    } catch (_) {
      return null;
    }
  };

  // "2024-01-05" -> "2024年1月5日"; anything else is shown as is.
  const formatDate = (date) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || '');
    return m ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : date || '';
  };

  // What a reader sees for each error code of the API.
  const ERRORS = {
    empty_query: '検索できる語がありません。別の言葉で検索してください。',
    query_too_long: '検索語が長すぎます。短くして検索してください。',
    uri_too_long: '検索語が長すぎます。短くして検索してください。',
    bad_parameter: '検索の条件が正しくありません。',
    index_unavailable: '検索の準備がまだできていません。しばらくしてからもう一度お試しください。',
    index_corrupt: '検索用のデータに問題があり、いまは検索できません。サイトの管理者にお知らせください。',
    internal: '検索中に問題が起きました。しばらくしてからもう一度お試しください。',
    network: '検索サーバーに接続できませんでした。通信環境を確かめてもう一度お試しください。',
  };
  const errorMessage = (code) => ERRORS[code] || '検索できませんでした。しばらくしてからもう一度お試しください。';

  // Text kept before a snippet's first highlight, so that the clamp shows it.
  const LEAD_CHARS = 32;
  const BLOCKS = 'p, li, dt, dd, td, th, pre, blockquote, figure, h1, h2, h3, h4, h5, h6';

  // The parts of a text directive (#:~:text=[prefix-,]start[,end][,-suffix]), decoded.
  const textDirective = (hash) => {
    const at = hash.indexOf(':~:');
    const raw = at === -1 ? null : hash.slice(at + 3).split('&').find((d) => d.startsWith('text='));
    if (!raw) return null;
    const parts = raw.slice(5).split(',');
    const prefix = parts.length > 1 && parts[0].endsWith('-') ? parts.shift().slice(0, -1) : '';
    const suffix = parts.length > 1 && parts[parts.length - 1].startsWith('-') ? parts.pop().slice(1) : '';
    try {
      const [start, end = ''] = parts.map(decodeURIComponent);
      return start ? { prefix: decodeURIComponent(prefix), start, end, suffix: decodeURIComponent(suffix) } : null;
    } catch (_) {
      return null;
    }
  };

  // Lower case, one space for each run of white space.
  const fold = (text) => text.replace(/\s+/g, ' ').toLowerCase();

  // The element around the first text of the page (outside `skip`) that a directive points at.
  const findText = (directive, skip) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => (skip.contains(node) || node.parentElement.closest('script, style, noscript, template')
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    const nodes = [];
    let text = '';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const piece = fold(node.data);
      nodes.push([text.length, node]);
      text += text.endsWith(' ') && piece.startsWith(' ') ? piece.slice(1) : piece;
    }
    const [prefix, start, end, suffix] = [directive.prefix, directive.start, directive.end, directive.suffix].map(fold);
    for (let at = text.indexOf(start); at !== -1; at = text.indexOf(start, at + 1)) {
      if (prefix && !text.slice(0, at).trimEnd().endsWith(prefix.trim())) continue;
      let after = at + start.length;
      if (end) {
        const stop = text.indexOf(end, after);
        if (stop === -1) continue;
        after = stop + end.length;
      }
      if (suffix && !text.slice(after).trimStart().startsWith(suffix.trim())) continue;
      let node = nodes[0][1];
      for (const [offset, candidate] of nodes) {
        if (offset > at) break;
        node = candidate;
      }
      return node.parentElement.closest(BLOCKS) || node.parentElement;
    }
    return null;
  };

  // The page element a fragment (#id or #:~:text=...) points at, outside the box.
  const fragmentTarget = (hash, box) => {
    const directive = textDirective(hash);
    if (directive) return findText(directive, box);
    let id = hash.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch (_) {
      // a malformed escape: look the id up as written
    }
    const target = id && document.getElementById(id);
    return target && !box.contains(target) ? target : null;
  };

  // Scroll to an element of the page and make it light up for a moment.
  const flash = (target) => {
    target.classList.remove('mikke-flash');
    void target.offsetWidth; // restart the animation
    target.classList.add('mikke-flash');
    target.scrollIntoView({ block: 'start' });
    target.addEventListener('animationend', () => target.classList.remove('mikke-flash'), { once: true });
  };

  // Cut the text before a snippet's first <mark> until the line clamp shows the mark.
  const showFirstMark = (snippet) => {
    const mark = snippet.querySelector('mark');
    if (!mark) return;
    let chars = [];
    while (snippet.firstChild && snippet.firstChild !== mark) {
      chars = chars.concat(Array.from(snippet.firstChild.textContent));
      snippet.firstChild.remove();
    }
    const lead = document.createTextNode('');
    snippet.insertBefore(lead, mark);
    const keep = (n) => {
      lead.data = n < chars.length ? `…${chars.slice(chars.length - n).join('')}` : chars.join('');
    };
    const hidden = () => {
      const line = mark.getClientRects()[0];
      return line && line.bottom > snippet.getBoundingClientRect().bottom + 1;
    };
    let n = LEAD_CHARS;
    keep(n);
    while (n > 0 && hidden()) {
      n = Math.floor(n / 2);
      keep(n);
    }
  };

  function mount(root) {
    if (root.dataset.mikkeReady) return;
    root.dataset.mikkeReady = 'true';
    root.classList.add('mikke-search');

    const uid = `mikke-${++instances}`;
    const endpoint = root.dataset.endpoint || '/api/search';
    const limit = Math.min(Math.max(parseInt(root.dataset.limit, 10) || 10, 1), 100);
    const placeholder = root.dataset.placeholder || 'サイト内検索';

    // --- DOM ---
    const form = el('form', 'mikke-form');
    form.setAttribute('role', 'search');
    form.noValidate = true;

    const label = el('label', 'mikke-label', placeholder);
    label.htmlFor = `${uid}-input`;

    const field = el('div', 'mikke-field');
    const icon = el('span', 'mikke-icon');
    icon.setAttribute('aria-hidden', 'true');
    const spinner = el('span', 'mikke-spinner');
    spinner.setAttribute('aria-hidden', 'true');

    const input = el('input', 'mikke-input');
    Object.assign(input, { id: `${uid}-input`, type: 'search', placeholder, autocomplete: 'off', spellcheck: false });
    const attrs = {
      role: 'combobox', 'aria-expanded': 'false', 'aria-controls': `${uid}-listbox`,
      'aria-autocomplete': 'list', enterkeyhint: 'search', autocapitalize: 'off',
    };
    for (const [k, v] of Object.entries(attrs)) input.setAttribute(k, v);

    const panel = el('div', 'mikke-panel');
    panel.hidden = true;
    const status = el('div', 'mikke-status');
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    const list = el('div', 'mikke-results');
    list.id = `${uid}-listbox`;
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', '検索結果');
    const more = el('button', 'mikke-more', 'さらに表示');
    more.type = 'button';
    more.hidden = true;

    field.append(icon, input, spinner);
    form.append(label, field);
    panel.append(status, list, more);
    root.replaceChildren(form, panel);

    // --- state ---
    let query = '';       // query whose results are shown (or loading)
    let options = [];     // rendered .mikke-result elements (post and section links)
    let posts = 0;        // posts shown: the offset of the next page
    let active = -1;
    let seq = 0;          // only the response of the latest request renders
    let controller = null;
    let timer = 0;
    let composing = false;

    const setOpen = (open) => {
      panel.hidden = !open;
      input.setAttribute('aria-expanded', String(open));
      if (!open) setActive(-1);
    };

    // The status line: text parts, and a button for a suggested query.
    const setStatus = (parts, kind = '') => {
      status.replaceChildren(...[].concat(parts).filter(Boolean));
      status.className = kind ? `mikke-status mikke-status-${kind}` : 'mikke-status';
    };

    const setBusy = (busy) => {
      root.classList.toggle('mikke-loading', busy);
      list.setAttribute('aria-busy', String(busy));
      more.disabled = busy;
    };

    function setActive(index, scroll = true) {
      if (options[active]) options[active].setAttribute('aria-selected', 'false');
      active = index;
      const opt = options[active];
      if (opt) {
        opt.setAttribute('aria-selected', 'true');
        input.setAttribute('aria-activedescendant', opt.id);
        if (scroll) opt.scrollIntoView({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }

    const resetList = () => {
      setActive(-1);
      options = [];
      posts = 0;
      list.replaceChildren();
      panel.scrollTop = 0;
    };

    const option = (className, href) => {
      const opt = el('a', `mikke-result ${className}`);
      opt.id = `${uid}-opt-${options.length}`;
      opt.setAttribute('role', 'option');
      opt.setAttribute('aria-selected', 'false');
      opt.tabIndex = -1;
      if (href) opt.href = href;
      options.push(opt);
      return opt;
    };

    // One post: its title, date and tags once, then its best sections.
    const renderPost = (hit) => {
      const post = hit.post || {};
      const group = el('div', 'mikke-post');
      group.setAttribute('role', 'group');

      const head = option('mikke-post-head', safeUrl(post.url));
      const title = el('span', 'mikke-title', post.title || post.url || '(無題)');
      title.id = `${head.id}-title`;
      group.setAttribute('aria-labelledby', title.id);
      head.append(title);
      const meta = el('span', 'mikke-meta');
      if (post.date) {
        const time = el('time', 'mikke-date', formatDate(post.date));
        time.dateTime = post.date;
        meta.append(time);
      }
      for (const tag of post.tags || []) meta.append(el('span', 'mikke-tag', tag));
      if (meta.childElementCount) head.append(meta);
      group.append(head);

      for (const section of (Array.isArray(hit.sections) ? hit.sections : []).slice(0, 3)) {
        const kind = /^[a-z]+$/.test(section.kind || '') ? section.kind : 'text';
        const opt = option(`mikke-section mikke-kind-${kind}`, safeUrl(section.url) || safeUrl(post.url));
        if (section.heading && section.heading !== post.title) {
          const heading = el('span', 'mikke-heading');
          if (section.heading_html) heading.innerHTML = section.heading_html; // escaped by the server, <mark> only
          else heading.textContent = section.heading;
          opt.append(heading);
        }
        if (section.snippet && section.snippet.html) {
          const snippet = el('span', 'mikke-snippet');
          snippet.innerHTML = section.snippet.html; // escaped by the server, <mark> only
          opt.append(snippet);
        }
        group.append(opt);
      }
      return group;
    };

    const clear = () => {
      clearTimeout(timer);
      if (controller) controller.abort();
      seq++;
      query = '';
      resetList();
      more.hidden = true;
      setBusy(false);
      setStatus('');
      setOpen(false);
    };

    // A suggested query ("もしかして"), run when clicked.
    const suggestion = (text) => {
      const button = el('button', 'mikke-suggestion', text);
      button.type = 'button';
      button.addEventListener('click', () => {
        input.value = text;
        search(text);
      });
      return ['もしかして: ', button];
    };

    const quote = (words) => `「${words.join('」「')}」`;

    const summary = (data, q) => {
      const total = Number(data.total) || 0;
      const hint = typeof data.suggestion === 'string' && data.suggestion ? suggestion(data.suggestion) : [];
      if (!options.length) return [[`${quote([q])}に一致する記事は見つかりませんでした。`, ...hint], 'empty'];
      if (data.matched === 'some') {
        const missing = Array.isArray(data.missing_words) && data.missing_words.length ? data.missing_words : [q];
        const notice = `${quote(missing.map(String))}に完全に一致する記事はありません。一部の語に一致した結果:`;
        return [[notice, ...(hint.length ? [' ', ...hint] : [])], 'partial'];
      }
      return [[`${total} 件の記事`, ...(hint.length ? [' · ', ...hint] : [])], ''];
    };

    async function load(q, offset) {
      const id = ++seq;
      if (controller) controller.abort();
      controller = new AbortController();
      setBusy(true);
      if (offset === 0) setStatus('検索中…');
      setOpen(true);

      const url = new URL(endpoint, location.href);
      const params = { q, limit, offset, group: 'post', prefix: 'true' };
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));

      try {
        let res;
        try {
          res = await fetch(url, { signal: controller.signal, headers: { Accept: 'application/json' } });
        } catch (err) {
          if (err.name === 'AbortError') throw err;
          throw Object.assign(new Error('network'), { code: 'network' });
        }
        const data = await res.json().catch(() => null);
        if (id !== seq) return;
        if (!res.ok || !data || data.ok === false) {
          throw Object.assign(new Error('api'), { code: (data && data.code) || '' });
        }
        if (offset === 0) resetList();
        const hits = Array.isArray(data.hits) ? data.hits : [];
        list.append(...hits.map(renderPost));
        posts += hits.length;
        list.querySelectorAll('.mikke-snippet:not([data-clamped])').forEach((snippet) => {
          snippet.dataset.clamped = 'true';
          showFirstMark(snippet);
        });
        more.hidden = posts >= (Number(data.total) || 0) || hits.length === 0;
        setStatus(...summary(data, q));
      } catch (err) {
        if (id !== seq || err.name === 'AbortError') return;
        setStatus(errorMessage(err.code), 'error');
        if (offset === 0) {
          query = ''; // a failed query may be retried
          resetList();
          more.hidden = true;
        }
      } finally {
        if (id === seq) setBusy(false);
      }
    }

    // Search now; an unchanged query just reopens its results.
    function search(raw) {
      clearTimeout(timer);
      const q = raw.trim();
      if (!q) return clear();
      if (q === query) return setOpen(true);
      query = q;
      return load(q, 0);
    }

    // Follow a result. One on this page scrolls to its passage here, with the panel
    // closed first: the browser would otherwise find a text fragment in the panel.
    const follow = (opt, event) => {
      if (!opt.href) return;
      setOpen(false);
      const url = new URL(opt.href, location.href);
      const samePage = url.origin === location.origin && url.pathname === location.pathname;
      const target = samePage && url.hash ? fragmentTarget(url.hash, root) : null;
      if (!target) {
        if (!event) location.assign(url.href);
        return;
      }
      if (event) event.preventDefault();
      history.pushState(null, '', url.href);
      input.blur(); // also hides a phone's keyboard
      flash(target);
    };

    // --- events ---
    input.addEventListener('compositionstart', () => {
      composing = true;
      clearTimeout(timer);
    });
    input.addEventListener('compositionend', () => {
      composing = false;
      search(input.value);
    });
    input.addEventListener('input', (e) => {
      if (composing || e.isComposing) return;
      clearTimeout(timer);
      if (!input.value.trim()) return clear();
      timer = setTimeout(() => search(input.value), DEBOUNCE_MS);
    });

    input.addEventListener('keydown', (e) => {
      if (composing || e.isComposing || e.keyCode === 229) return; // IME owns the keys
      const n = options.length;
      switch (e.key) {
        case 'ArrowDown':
        case 'ArrowUp':
          if (!n) return;
          e.preventDefault();
          if (panel.hidden) setOpen(true);
          if (e.key === 'ArrowDown') setActive(active + 1 >= n ? 0 : active + 1);
          else setActive(active <= 0 ? n - 1 : active - 1);
          break;
        case 'Enter':
          e.preventDefault();
          if (active === -1 || panel.hidden) search(input.value);
          else follow(options[active], null);
          break;
        case 'Escape':
          e.preventDefault();
          if (!panel.hidden) setOpen(false);
          else if (input.value) {
            input.value = '';
            clear();
          }
          break;
      }
    });

    form.addEventListener('submit', (e) => e.preventDefault());
    input.addEventListener('focus', () => {
      if (query) setOpen(true);
    });
    // Keep focus in the input when clicking inside the panel.
    panel.addEventListener('mousedown', (e) => e.preventDefault());
    list.addEventListener('mousemove', (e) => {
      const opt = e.target.closest('.mikke-result');
      const index = options.indexOf(opt);
      if (index !== -1 && index !== active) setActive(index, false);
    });
    list.addEventListener('click', (e) => {
      const opt = e.target.closest('.mikke-result');
      if (opt && e.button === 0 && !(e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)) follow(opt, e);
    });
    more.addEventListener('click', () => {
      if (query) load(query, posts);
    });
    // Close on Tab-away or a click elsewhere (not when a mobile keyboard is dismissed).
    root.addEventListener('focusout', (e) => {
      if (e.relatedTarget && !root.contains(e.relatedTarget)) setOpen(false);
    });
    document.addEventListener('pointerdown', (e) => {
      if (!root.contains(e.target)) setOpen(false);
    });
  }

  const init = (target) => {
    const roots = target ? [target] : document.querySelectorAll('#mikke-search, .mikke-search');
    roots.forEach(mount);
  };

  window.Mikke = { init };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => init());
  else init();
})();
