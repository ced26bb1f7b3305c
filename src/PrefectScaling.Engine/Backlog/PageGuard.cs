using System;
using System.Collections.Generic;
using System.Globalization;
using PrefectScaling.Prefect;

namespace PrefectScaling.Backlog
{
    /// <summary>Keeps one paged read honest. Items are told apart by id, so an item that moved between pages is
    /// taken once; a page that brings nothing new means the server (or a proxy in front of it) ignores the
    /// offset or page, and would otherwise be read forever or counted as a fraction of the backlog; and no read
    /// runs past <see cref="MaxPages"/>.</summary>
    internal sealed class PageGuard
    {
        /// <summary>200,000 items at 200 a page: far beyond any scope this module is meant for, and a bound on a
        /// server that keeps sending fresh pages.</summary>
        internal const int MaxPages = 1000;

        private readonly HashSet<string> _seen = new HashSet<string>(StringComparer.Ordinal);
        private readonly string _call;
        private readonly string _apiUrl;
        private int _fresh;
        private int _rows;

        internal PageGuard(string call, string apiUrl)
        {
            _call = call;
            _apiUrl = apiUrl;
        }

        internal int Pages { get; private set; }

        /// <summary>Before each request: refuses to ask for one page more than the bound.</summary>
        internal void BeforePage()
        {
            if (Pages >= MaxPages) throw TooMany("still had more after " + MaxPages.ToString("N0", CultureInfo.InvariantCulture) + " pages");
            Pages++;
            _fresh = 0;
            _rows = 0;
        }

        /// <summary>When the server says up front how many pages there are: more than the bound fails at once.</summary>
        internal void Expect(int pages)
        {
            if (pages > MaxPages) throw TooMany("has " + pages.ToString("N0", CultureInfo.InvariantCulture) + " pages");
        }

        private PrefectApiException TooMany(string what) =>
            new PrefectApiException(PrefectErrorKind.TooLarge,
                "The Prefect API at " + _apiUrl + " " + what + " of " + _call + "; a read stops at " + MaxPages.ToString("N0", CultureInfo.InvariantCulture) +
                " pages rather than run on. Narrow the scope (-WorkPool, -WorkQueue).",
                endpoint: _call);

        /// <summary>The page asked for was refused (and will be asked again): it does not count.</summary>
        internal void NotAnswered() => Pages--;

        /// <summary>An item of the current page; true when it was not seen on an earlier page (or this one).</summary>
        internal bool Add(string id)
        {
            _rows++;
            if (!_seen.Add(id)) return false;
            _fresh++;
            return true;
        }

        /// <summary>After each page: a page of rows none of which is new cannot come from a server that pages.</summary>
        internal void AfterPage(string how)
        {
            if (_rows > 0 && _fresh == 0 && Pages > 1)
                throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse,
                    "The Prefect API at " + _apiUrl + " answered page " + Pages + " of " + _call + " with only items it had already sent: it, or a proxy in front of it, ignores '" + how +
                    "'. The read stops here, since the other pages cannot be reached.",
                    endpoint: _call);
        }
    }
}
