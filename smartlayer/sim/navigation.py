"""How people move through the simulated site: where they land, which link they follow, what a page fetches.

Split from :mod:`.sitemap`, which says what exists and what it answers:
this half is the site's link structure as visitors use it — bestsellers far
more likely than the long tail, listings that lead to products, articles that
lead to the shop — which the generator's people and crawlers walk.
:class:`Navigation` is mixed into :class:`~.sitemap.SiteMap` and reads its
fields (products, categories, pages, assets).
"""
from __future__ import annotations

import math
import random
from typing import Any


class Navigation:
    """The site's links as visitors follow them (mixed into :class:`~.sitemap.SiteMap`)."""

    __slots__ = ()
    # the SiteMap fields read here
    _popular: list[int]
    _popular_cum: list[float]
    categories: tuple[str, ...]
    pages: tuple[str, ...]
    static_assets: tuple[str, ...]
    n_products: int
    n_articles: int
    page_size: int
    product_exists: Any
    allowed_by_robots: Any

    def popular_product(self, rng: random.Random) -> int:
        """A product ID, the bestsellers far more likely than the long tail."""
        return rng.choices(self._popular, cum_weights=self._popular_cum)[0]

    @staticmethod
    def product_id(path: str) -> int | None:
        """The ID of a product page ``/products/<id>/``, else None."""
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "products" and parts[2].isdigit():
            return int(parts[2])
        return None

    def category_of(self, pid: int) -> str:
        return self.categories[pid % len(self.categories)]

    def listing(self, slug: str, page: int) -> list[int]:
        """Product IDs shown on page ``page`` (1-based) of a category."""
        step = len(self.categories)
        first = self.categories.index(slug) or step
        ids = range(first + (page - 1) * self.page_size * step, self.n_products + 1, step)
        return [pid for pid in ids[:self.page_size] if self.product_exists(pid)]

    def listing_pages(self, slug: str) -> int:
        per_category = math.ceil(self.n_products / len(self.categories))
        return max(1, math.ceil(per_category / self.page_size))

    def landing_page(self, rng: random.Random) -> tuple[str, str]:
        """Where a visitor arrives: ``(path, query)``."""
        r = rng.random()
        if r < 0.4:
            return "/", ""
        if r < 0.7:
            return f"/products/{self.popular_product(rng)}/", ""
        if r < 0.85:
            return f"/category/{rng.choice(self.categories)}/", ""
        return f"/articles/{rng.randint(1, self.n_articles)}/", ""

    def next_page(self, rng: random.Random, path: str) -> tuple[str, str]:
        """A link a reader of ``path`` plausibly follows: ``(path, query)``."""
        r = rng.random()
        pid = self.product_id(path)
        if pid is not None:
            if r < 0.55:
                return f"/products/{self.popular_product(rng)}/", ""
            if r < 0.8:
                return f"/category/{self.category_of(pid)}/", ""
            if r < 0.9:
                return "/cart/", ""
            return "/", ""
        if path.startswith("/category/"):
            slug = path.split("/")[2]
            if r < 0.75:
                shown = self.listing(slug, 1) or [self.popular_product(rng)]
                return f"/products/{rng.choice(shown)}/", ""
            if r < 0.9:
                return path, f"page={rng.randint(2, self.listing_pages(slug))}"
            return f"/category/{rng.choice(self.categories)}/", ""
        if path.startswith("/articles/") or path == "/blog/":
            if r < 0.45:
                return f"/articles/{rng.randint(1, self.n_articles)}/", ""
            if r < 0.75:
                return f"/products/{self.popular_product(rng)}/", ""
            return "/blog/", ""
        if r < 0.4:
            return f"/category/{rng.choice(self.categories)}/", ""
        if r < 0.7:
            return f"/products/{self.popular_product(rng)}/", ""
        if r < 0.8:
            return "/blog/", ""
        return rng.choice(self.pages), ""

    def page_assets(self, rng: random.Random, path: str, *, cold: bool) -> list[str]:
        """Files a browser fetches after ``path``: the site's assets on a cold
        cache, plus the page's own images."""
        assets = list(self.static_assets) if cold else []
        pid = self.product_id(path)
        if pid is not None:
            assets.extend(f"/media/products/{pid}-{n}.jpg" for n in range(1, rng.randint(1, 4) + 1))
        elif path.startswith("/category/") and rng.random() < 0.5:
            shown = self.listing(path.split("/")[2], 1)
            assets.extend(f"/media/products/{pid}-1.jpg" for pid in shown[:rng.randint(1, 4)])
        return assets

    def sitemap_urls(self) -> list[str]:
        """What ``/sitemap.xml`` lists.  It lags behind deletions, so a few
        entries are 404s, as on real sites."""
        urls = [p for p in self.pages if self.allowed_by_robots(p)]
        urls += [f"/category/{slug}/" for slug in self.categories]
        urls += [f"/products/{pid}/" for pid in range(1, self.n_products + 1)]
        urls += [f"/articles/{aid}/" for aid in range(1, self.n_articles + 1)]
        return urls
