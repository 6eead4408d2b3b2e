from .base import StaticImageSet
from .filetree import FileTreeDataset
