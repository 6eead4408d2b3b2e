from .movies import H5SequenceSet, MovieFileTreeDataset
from .statics import FileTreeDataset, StaticImageSet
