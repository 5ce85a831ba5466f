"""Progress reporting for the long calls: a tqdm bar when tqdm is installed, or the
caller's own function; both may stop the call. An exception raised inside a callback (a
KeyboardInterrupt included) stops the call and is raised again when it returns."""


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class Reporter:
    """Wraps ``progress`` (None: a tqdm bar if tqdm is installed and ``verbose``; False: none;
    True: a tqdm bar; a callable: called with each update's dict, returning False stops)."""

    def __init__(self, progress, verbose, total, desc, unit):
        self.error = None
        self.bar = None
        self.fn = None
        if callable(progress) and not isinstance(progress, bool):
            self.fn = progress
        elif progress is True or (progress is None and verbose):
            tqdm = _tqdm()
            if tqdm is None and progress is True:
                raise ImportError("progress=True needs tqdm (pip install tqdm)")
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, unit=unit, leave=False)
        elif progress not in (None, False):
            raise TypeError(f"`progress` must be None, True, False or a callable; got "
                            f"{progress!r}")
        self.active = self.fn is not None or self.bar is not None

    def update(self, position, info):
        """Returns whether to go on."""
        try:
            if self.bar is not None:
                self.bar.n = min(position, self.bar.total or position)
                self.bar.set_postfix({k: f"{v:.2e}" for k, v in info.items()
                                      if isinstance(v, float)}, refresh=False)
                self.bar.refresh()
            if self.fn is not None:
                return self.fn(dict(info)) is not False
            return True
        except BaseException as e:  # noqa: B902 - re-raised by finish()
            self.error = e
            return False

    def finish(self):
        if self.bar is not None:
            self.bar.close()
        if self.error is not None:
            e, self.error = self.error, None
            raise e
