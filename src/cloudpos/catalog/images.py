"""Product images: JPEG/PNG/WebP up to 5 MB, checked and re-encoded with Pillow (WebP, with a
256 px thumbnail), stored under var/media/<tenant>/products/ and served only to that tenant.
An S3-compatible store can replace `_media_root` later."""

from __future__ import annotations

import io
import uuid
import warnings
from pathlib import Path

from fastapi import UploadFile
from PIL import Image, ImageOps
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.catalog.models import Product, ProductImage
from cloudpos.catalog.schemas import ImageOut
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import FieldError, Invalid, NotFound, TooLarge
from cloudpos.i18n import N_
from cloudpos.ids import uuid7

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # decompression bombs: Pillow refuses anything larger
MAX_SIDE = 2000
THUMB = 256
MAX_IMAGES = 10
FORMATS = {"JPEG", "PNG", "WEBP"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _media_root(var_dir: Path) -> Path:
    return Path(var_dir) / "media"


def _bad(message: str) -> Invalid:
    return Invalid(errors=[FieldError("file", message, {}, "invalid_image")])


def _read_limited(file: UploadFile) -> bytes:
    data = file.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise TooLarge(N_("Images can be at most 5 MB."), code="image_too_large")
    if not data:
        raise _bad(N_("The file is empty."))
    return data


def process(data: bytes) -> tuple[bytes, bytes, int, int]:
    """(full WebP, thumbnail WebP, width, height); bad, oversized or unsupported images → Invalid."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _process(data)
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bad(N_("The image is too large (at most 40 megapixels).")) from None
    except Exception:  # noqa: BLE001 - any decoder failure is a bad upload, not a server error
        raise _bad(N_("This file is not a readable image.")) from None


def _process(data: bytes) -> tuple[bytes, bytes, int, int]:
    with Image.open(io.BytesIO(data)) as probe:
        if probe.format not in FORMATS:
            raise _bad(N_("Upload a JPEG, PNG or WebP image."))
        w, h = probe.size
        if w * h > MAX_PIXELS:
            raise _bad(N_("The image is too large (at most 40 megapixels)."))
        probe.verify()
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")
        im.thumbnail((MAX_SIDE, MAX_SIDE))
        full = io.BytesIO()
        im.save(full, "WEBP", quality=85, method=4)
        thumb_im = im.copy()
        thumb_im.thumbnail((THUMB, THUMB))
        thumb = io.BytesIO()
        thumb_im.save(thumb, "WEBP", quality=80, method=4)
        return full.getvalue(), thumb.getvalue(), im.width, im.height


@use_case
def upload(db: Session, actor: Actor, var_dir: Path, product_id: uuid.UUID, file: UploadFile) -> ImageOut:
    from cloudpos.catalog.service import image_out

    actor.require("catalog.edit")
    p = db.get(Product, (actor.tenant_id, product_id))
    if p is None:
        raise NotFound(N_("Product not found."), code="product_not_found")
    count = db.scalar(select(func.count()).where(ProductImage.tenant_id == actor.tenant_id,
                                                 ProductImage.product_id == product_id)) or 0
    if count >= MAX_IMAGES:
        raise _bad(N_("At most 10 images per product."))
    full, thumb, w, h = process(_read_limited(file))
    image_id = uuid7()
    folder = _media_root(var_dir) / str(actor.tenant_id) / "products"
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{actor.tenant_id}/products/{image_id}.webp"
    thumb_key = f"{actor.tenant_id}/products/{image_id}.thumb.webp"
    (_media_root(var_dir) / key).write_bytes(full)
    (_media_root(var_dir) / thumb_key).write_bytes(thumb)
    img = ProductImage(tenant_id=actor.tenant_id, id=image_id, product_id=product_id, position=count, key=key,
                       thumb_key=thumb_key, content_type="image/webp", width=w, height=h, size=len(full))
    db.add(img)
    db.flush()
    audit.record(db, actor, "catalog.image.upload", target_type="product", target_id=product_id,
                 target_label=f"{p.sku} {p.name}", details={"image_id": str(image_id), "width": w, "height": h})
    return image_out(img)


def _get(db: Session, actor: Actor, product_id: uuid.UUID, image_id: uuid.UUID) -> ProductImage:
    img = db.get(ProductImage, (actor.tenant_id, image_id))
    if img is None or img.product_id != product_id:
        raise NotFound(N_("Image not found."))
    return img


def file_for(db: Session, actor: Actor, var_dir: Path, product_id: uuid.UUID, image_id: uuid.UUID,
             size: str) -> tuple[Path, str]:
    """The stored file of one of this tenant's images (another tenant's id is a 404)."""
    actor.require("catalog.view")
    img = _get(db, actor, product_id, image_id)
    path = _media_root(var_dir) / (img.thumb_key if size == "thumb" else img.key)
    if not path.is_file():
        raise NotFound(N_("Image not found."))
    return path, img.content_type


@use_case
def delete(db: Session, actor: Actor, var_dir: Path, product_id: uuid.UUID, image_id: uuid.UUID) -> None:
    actor.require("catalog.edit")
    img = _get(db, actor, product_id, image_id)
    keys = (img.key, img.thumb_key)
    db.delete(img)
    audit.record(db, actor, "catalog.image.delete", target_type="product", target_id=product_id,
                 details={"image_id": str(image_id)})
    db.flush()
    for key in keys:
        (_media_root(var_dir) / key).unlink(missing_ok=True)
