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
    let options = [];     // rendered .mikke-result elements
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

    const setStatus = (text, isError = false) => {
      status.textContent = text;
      status.classList.toggle('mikke-status-error', isError);
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
      list.replaceChildren();
    };

    const renderHit = (hit) => {
      const post = hit.post || {};
      const section = hit.section || {};
      const href = safeUrl(section.url) || safeUrl(post.url);

      const opt = el('a', 'mikke-result');
      opt.id = `${uid}-opt-${options.length}`;
      opt.setAttribute('role', 'option');
      opt.setAttribute('aria-selected', 'false');
      opt.tabIndex = -1;
      if (href) opt.href = href;

      const head = el('span', 'mikke-result-head');
      head.append(el('span', 'mikke-title', post.title || post.url || '(無題)'));
      if (section.heading && section.heading !== post.title) {
        head.append(el('span', 'mikke-heading', section.heading));
      }
      opt.append(head);

      if (hit.snippet && hit.snippet.html) {
        const snippet = el('span', 'mikke-snippet');
        snippet.innerHTML = hit.snippet.html; // escaped by the server, <mark> only
        opt.append(snippet);
      }

      const meta = el('span', 'mikke-meta');
      if (post.date) {
        const time = el('time', 'mikke-date', formatDate(post.date));
        time.dateTime = post.date;
        meta.append(time);
      }
      for (const tag of post.tags || []) meta.append(el('span', 'mikke-tag', tag));
      if (meta.childElementCount) opt.append(meta);
      return opt;
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

    async function load(q, offset) {
      const id = ++seq;
      if (controller) controller.abort();
      controller = new AbortController();
      setBusy(true);
      if (offset === 0) setStatus('検索中…');
      setOpen(true);

      const url = new URL(endpoint, location.href);
      url.searchParams.set('q', q);
      url.searchParams.set('limit', String(limit));
      url.searchParams.set('offset', String(offset));

      try {
        const res = await fetch(url, { signal: controller.signal, headers: { Accept: 'application/json' } });
        const data = await res.json().catch(() => null);
        if (id !== seq) return;
        if (!res.ok || !data || data.ok === false) {
          throw new Error((data && data.error) || `検索に失敗しました（HTTP ${res.status}）`);
        }
        if (offset === 0) resetList();
        const hits = Array.isArray(data.hits) ? data.hits : [];
        const nodes = hits.map((hit) => {
          const node = renderHit(hit);
          options.push(node);
          return node;
        });
        list.append(...nodes);
        const total = Number(data.total) || 0;
        more.hidden = options.length >= total || hits.length === 0;
        setStatus(options.length ? `${total} 件` : `「${q}」に一致する記事は見つかりませんでした`);
      } catch (err) {
        if (id !== seq || err.name === 'AbortError') return;
        const offline = err instanceof TypeError;
        setStatus(offline ? '検索サーバーに接続できませんでした' : err.message, true);
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
    const search = (raw) => {
      clearTimeout(timer);
      const q = raw.trim();
      if (!q) return clear();
      if (q === query) return setOpen(true);
      query = q;
      load(q, 0);
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
          if (active === -1) search(input.value);
          else if (options[active].href) location.assign(options[active].href);
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
    more.addEventListener('click', () => {
      if (query) load(query, options.length);
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
