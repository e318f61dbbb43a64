"""What a user downloads, each a function of the tracked masks: mask folders, previews and zips
(`mask_folder`), COCO, DAVIS and alpha videos (`export_formats`), the overlay drawn on previews
(`overlay`) and every output read back from a project (`project_exports`)."""
