"""One package per vendor; a vendor never imports another."""
