"""Invoice and credit note documents: the buyer's billing profile, the seller's details, PDFs."""
