"""Media I/O: video files through ffmpeg (`video`), frame sources for the model (`frames`) and mask PNG
files, folders and zips (`mask_files`). The lowest layer: it imports nothing else of the package but
`config`. Importing this package imports none of its modules.
"""
