"""Publishing: static HTML reports (and, later, exports) from the warehouse."""
